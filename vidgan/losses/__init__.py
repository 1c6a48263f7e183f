"""Adversarial and auxiliary losses.

An adversarial loss has ``discriminator(real_logits, fake_logits)`` and
``generator(fake_logits)``, each returning a scalar; logits may have any shape (patch
maps are averaged). It may also have ``penalty(discriminator, real, fake)``, a scalar
regulariser (a gradient penalty, say) that the trainer adds to the discriminator's loss;
``real`` and ``fake`` are the batches the discriminator just judged (``fake`` detached).
An auxiliary loss is called as ``loss(class_logits, labels)``.
"""

from vidgan.losses import adversarial, category, r1  # noqa: F401  (registers the built-ins)
