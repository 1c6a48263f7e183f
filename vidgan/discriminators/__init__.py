"""Image and video discriminators.

Every discriminator has a ``view`` attribute, ``"frames"`` (it judges single frames
``b c h w``) or ``"clips"`` (it judges videos ``b c t h w``), and returns
``(logits, class_logits)`` where ``class_logits`` is ``None`` unless it classifies.

A ``"clips"`` discriminator may also have ``frames``, the indices of the frames of a clip
it judges: the trainer then gives it only those frames of every real clip and asks the
generator for only those frames of every generated one (``sparse-video``).
"""

from vidgan.discriminators import mocogan, sparse  # noqa: F401  (registers the built-ins)
