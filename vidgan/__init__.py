"""vidgan: pluggable GAN components for video generation."""

__version__ = "0.1.0"
