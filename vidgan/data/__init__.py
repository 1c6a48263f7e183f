"""Data sets of labelled videos and the clip and frame sampling the trainer uses.

Importing this package registers the built-in data sets in ``vidgan.registry.DATASETS``:
``synthetic-shapes`` (generated, no files), ``frame-strips`` (the original MoCoGAN
folder format), ``video-files`` (mp4, avi, gif, webm, ... through PyAV),
``frame-folders`` (a folder of frame images per video), and ``prepared-videos`` (what
``vidgan prepare`` writes: a memory-mapped uint8 array per video).
"""

from vidgan.data.base import (Subset, UnreadableVideo, VideoDataset, min_frames, sample_clips,
                               sample_frames)
from vidgan.data.frame_folders import FrameFolders  # registers frame-folders
from vidgan.data.prepared import PreparedVideos  # registers prepared-videos
from vidgan.data.shapes import SyntheticShapes  # registers synthetic-shapes
from vidgan.data.strips import FrameStrips  # registers frame-strips
from vidgan.data.videos import VideoFiles  # registers video-files

__all__ = ["Subset", "UnreadableVideo", "VideoDataset", "min_frames", "sample_clips", "sample_frames",
           "SyntheticShapes", "FrameStrips", "VideoFiles", "FrameFolders", "PreparedVideos"]
