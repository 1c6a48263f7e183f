"""Image and video discriminators.

Every discriminator has a ``view`` attribute, ``"frames"`` (it judges single frames
``b c h w``) or ``"clips"`` (it judges videos ``b c t h w``), and returns
``(logits, class_logits)`` where ``class_logits`` is ``None`` unless it classifies.
"""

from vidgan.discriminators import mocogan  # noqa: F401  (registers the built-ins)
