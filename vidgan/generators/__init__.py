"""Frame decoders and video generators."""

from vidgan.generators import dcgan, flow, layered, mocogan  # noqa: F401  (registers the built-ins)
