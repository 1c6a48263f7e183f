"""Data sets of labelled videos and the clip and frame sampling the trainer uses.

Importing this package registers the built-in data sets in ``vidgan.registry.DATASETS``:
``synthetic-shapes`` (generated, no files) and ``frame-strips`` (the original MoCoGAN
folder format).
"""

from vidgan.data.base import VideoDataset, min_frames, sample_clips, sample_frames
from vidgan.data.shapes import SyntheticShapes  # registers synthetic-shapes
from vidgan.data.strips import FrameStrips  # registers frame-strips

__all__ = ["VideoDataset", "min_frames", "sample_clips", "sample_frames",
           "SyntheticShapes", "FrameStrips"]
