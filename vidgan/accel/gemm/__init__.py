"""Convolutions whose GEMMs have few rows, as matrix products (``train.conv3d_gemm``,
``train.conv2d_gemm`` and ``train.conv_transpose_gemm``).

oneDNN runs convolution calls whose GEMMs have few rows (few output positions per clip,
or a transposed convolution on a small input) far below the machine's GEMM peak; written
as matrix products they are one GEMM per pass, which MKL runs near its peak.

- :mod:`~vidgan.accel.gemm.thresholds`: which calls take the GEMMs, and the CPU's AMX;
- :mod:`~vidgan.accel.gemm.ops`: the custom ops (forward, gradients, FLOP formulas);
- :mod:`~vidgan.accel.gemm.layers`: the layers that pick oneDNN or the ops per call.
"""

from vidgan.accel.gemm.layers import (GemmConv2d, GemmConv3d, GemmConvTranspose2d, gemm_passes,
                                      space_to_depth_convolution3d, space_to_depth_passes, takes_gemm,
                                      takes_space_to_depth, use_gemm)
from vidgan.accel.gemm.ops import cache_tag, gemm_convolution3d, gemm_convolution_transpose2d

__all__ = ["GemmConv2d", "GemmConv3d", "GemmConvTranspose2d", "cache_tag", "gemm_convolution3d",
           "gemm_convolution_transpose2d", "gemm_passes", "space_to_depth_convolution3d", "space_to_depth_passes",
           "takes_gemm", "takes_space_to_depth", "use_gemm"]
