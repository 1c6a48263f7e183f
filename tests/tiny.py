"""Overrides that shrink a MoCoGAN recipe so a training step takes a fraction of a second.

Every component keeps its real architecture: fewer channels, 32×32 frames, short clips and
a small synthetic data set.
"""

TINY = [
    "data.image_size=32", "data.video_length=13", "data.every_nth=1",
    "data.options.num_videos=16", "generator.ngf=8",
    "discriminators.image.ndf=8", "discriminators.video.ndf=8",
    "discriminators.image.batch=4", "discriminators.video.batch=2",
    "train.num_samples=4", "device=cpu",
]
