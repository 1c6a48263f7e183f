"""Evaluation metrics for video generators, registered in ``vidgan.registry.METRICS``.

Built in: ``fid``, ``kid``, ``is`` (frames, through torch-fidelity), ``fvd`` (clips, I3D),
``acd`` (content drift, MoCoGAN's), ``mcs`` (motion control, MoCoGAN's), ``c2st`` (a
real-vs-generated classifier two-sample test), ``nn-c2st`` (the same test with a 1-nearest-
neighbour judge) and ``memorisation`` (nearness to the training clips). All of one evaluation share the samples of
an :class:`~vidgan.metrics.base.EvalContext`;
:func:`vidgan.metrics.evaluate.evaluate` is ``vidgan eval``.
"""

from vidgan.metrics import acd, c2st, fidelity, fvd, mcs, memorisation, nn_c2st  # noqa: F401  registers the built-in metrics
from vidgan.metrics.base import EvalContext

__all__ = ["EvalContext"]
