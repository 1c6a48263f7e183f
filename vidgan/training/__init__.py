"""Training loop, checkpoints and sample writing."""
