"""The quality benchmark's suites: each a data set, its targets and its variants (a recipe
plus overrides, with what the variant shows). ``python -m benchmarks.quality --suite NAME``
trains and evaluates one (:mod:`benchmarks.quality`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Targets:
    """A generator meets the targets when its ACD is at most ``acd_ratio`` times the real
    clips', its MCS at least ``mcs_min`` and, where given, its c2st at most ``c2st_max``
    (0.5: real and generated cannot be told apart)."""

    acd_ratio: float
    mcs_min: float
    c2st_max: float | None = None

    def met(self, row: dict[str, Any]) -> bool:
        return (row["acd"] <= self.acd_ratio * row["acd_real"] and row["mcs"] >= self.mcs_min
                and (self.c2st_max is None or row["c2st"] <= self.c2st_max))

    def __str__(self) -> str:
        c2st = f", c2st ≤ {self.c2st_max}" if self.c2st_max is not None else ""
        return f"ACD ≤ {self.acd_ratio}× the real clips', MCS ≥ {self.mcs_min}{c2st}"


@dataclass(frozen=True)
class Variant:
    """A recipe and the overrides that make this variant, with what it shows."""

    recipe: str
    overrides: tuple[str, ...]
    what: str


# the README's main job, and the recipe it replaced, side by side
QUICKSTART = {
    "layered-small": Variant("layered-small", (), "the README's main job: the real-video recipe at 32×32"),
    "mocogan-plus-small": Variant("mocogan-plus-small", (), "the quick start before layered-small: one picture "
                                  "per video slid across the frame (mocogan-warp) under the original's critics"),
}
PLUS_SMALL = "mocogan-plus-small"
# the earlier quick start, without one of its changes each, and in reference mode
VARIANTS = {
    "mocogan-plus-small": QUICKSTART["mocogan-plus-small"],
    "original": Variant(PLUS_SMALL, (
        "generator.name=mocogan", "generator.motion=gru-motion", "discriminators.video.projection=false",
        "discriminators.video.batch=4", "train.ema_decay=0"),
        "the original's generator and critics at these sizes: every frame decoded, GRU motion, "
        "4 clips per step, no EMA"),
    "gru-motion": Variant(PLUS_SMALL, ("generator.motion=gru-motion",),
                          "motion codes from the original's noise-driven GRU instead of oscillators"),
    "no-projection": Variant(PLUS_SMALL, ("discriminators.video.projection=false",),
                             "the video critic classifies clips but its real/fake logit ignores the class"),
    "spectral-hinge": Variant(PLUS_SMALL, (
        "discriminators.image.norm=spectral", "discriminators.video.norm=spectral",
        "discriminators.image.loss=hinge", "discriminators.video.loss=hinge"),
        "spectral norm instead of batch norm and the hinge loss instead of BCE in both critics"),
    "frame-decoder": Variant(PLUS_SMALL, ("generator.name=mocogan",),
                             "the original's generator (every frame decoded from all codes) with oscillator motion"),
    "video-batch-4": Variant(PLUS_SMALL, ("discriminators.video.batch=4",), "4 clips per step instead of 8"),
    "no-ema": Variant(PLUS_SMALL, ("train.ema_decay=0",), "samples from the trained generator, not its EMA"),
    "reference-mode": Variant(PLUS_SMALL, ("train.mode=reference",),
                              "the same training in train.mode=reference (fp32, the original's order of "
                              "operations) instead of fast: when it meets the targets"),
}
LAYERED_32 = ("data.image_size=32", "data.options={num_classes: 4}", "train.steps=1500")  # layered on the shapes
UNGATED = ("generator.shift=false", "generator.motion_gate=false")  # layered before the gate and shift were its own
# the real-video recipe's parts on the shapes: its critics under mocogan-plus-small's generator, and the ungated recipe
SHAPES_CRITICS = {
    "mocogan-plus-small": VARIANTS["mocogan-plus-small"],
    "sparse-critics": Variant(PLUS_SMALL, (
        "discriminators.image={name: image, batch: 16, ndf: 32}",
        "discriminators.video={name: sparse-video, batch: 16, aux: [infogan-category], projection: true, ndf: 32}"),
        "mocogan-plus-small with layered's critics: an image critic of width 32, and a critic of 5 frames at "
        "their time stamps (16 clips a step) instead of the 3D video critic"),
    "ungated": Variant("layered", (*LAYERED_32, *UNGATED), "layered at 32×32 without its motion gate and "
                       "translation: a still background, a foreground and mask drawn anew per frame"),
}
# generators under layered's critics on the shapes at 32×32: which one draws objects that keep their looks and move
SHAPES_GENERATORS = {
    "sparse-critics": SHAPES_CRITICS["sparse-critics"],
    "ungated": SHAPES_CRITICS["ungated"],
    "ramp-sine": Variant("layered", (*LAYERED_32, *UNGATED, "generator.motion=ramp-sine-motion"),
                         "ungated with motion codes that are a clock and 3 oscillators instead of 5 oscillators"),
    "modulated": Variant("layered", (*LAYERED_32, *UNGATED, "generator.decoder=modulated-frames"),
                         "ungated whose frame decoder's batch norms are scaled and shifted by the content code"),
    "modulated-shift": Variant("layered", (*LAYERED_32, *UNGATED, "generator.decoder=modulated-frames",
                                           "generator.shift=true"),
                               "modulated, its foreground also moved by a translation per category"),
    "modulated-shift-ramp": Variant("layered", (*LAYERED_32, *UNGATED, "generator.decoder=modulated-frames",
                                                "generator.shift=true", "generator.motion=ramp-sine-motion"),
                                    "modulated-shift with the clock and oscillators of ramp-sine"),
    "flow": Variant("layered", (*LAYERED_32, "~generator.shift", "~generator.motion_gate", "generator.name=flow",
                                "generator.ngf=64"),
                    "a background and a sprite per video, the sprite moved by a dense flow per frame"),
    "motion-gate": Variant("layered", (*LAYERED_32, "generator.shift=true", "generator.motion_gate=true"),
                           "layered as its recipe now sets it: the frame decoder reads the motion code through a "
                           "gate that starts shut, its foreground moved by a translation per category"),
    "motion-gate-ramp": Variant("layered", (*LAYERED_32, "generator.shift=true", "generator.motion_gate=true",
                                            "generator.motion=ramp-sine-motion"),
                                "motion-gate with the clock and oscillators of ramp-sine"),
    "motion-gate-3000": Variant("layered", (*LAYERED_32, "train.steps=3000", "generator.shift=true",
                                            "generator.motion_gate=true"),
                                "motion-gate for 3000 steps, layered's own length"),
    "blend": Variant("layered", (*LAYERED_32, "generator.shift=true", "generator.motion_gate=false",
                                 "generator.foreground=blend"),
                     "ungated whose every frame starts as one still foreground per video, moved by a translation "
                     "per category, and moves toward its own by a learned weight that starts at 0"),
}


ACTIONS = {
    "ungated": Variant("layered", UNGATED, "the recipe for real video without its motion gate and translation: a "
                       "still background per video, a foreground and mask per frame, a critic of 5 frames at "
                       "their time stamps"),
    "diffaugment-r1": Variant("layered", (
        *UNGATED, "train.steps=1250", "discriminators.image.augment=diffaugment",
        "discriminators.video.augment=diffaugment",
        "discriminators.image.loss={name: bce-r1, gamma: 0.1, every: 8}",
        "discriminators.video.loss={name: bce-r1, gamma: 0.1, every: 8}"),
        "ungated with DiffAugment and lazy R1 (γ 0.1, every 8 steps) in both critics, 1250 steps"),
    "reference-mode": Variant("layered", (*UNGATED, "train.mode=reference"),
                              "ungated in train.mode=reference (fp32, the original's order of operations) "
                              "instead of fast"),
    "video-foreground": Variant("layered", (
        "train.steps=1250", "generator.foreground=video", "generator.shift=true", "generator.motion_gate=false"),
        "ungated with the foreground's colours drawn once per video (each frame draws only its mask), "
        "moved with its mask by a translation per category, 1250 steps"),
    "flow": Variant("layered", ("train.steps=750", "~generator.shift", "~generator.motion_gate",
                                "generator.name=flow"),
                    "a background and a sprite per video, the sprite moved by a dense flow per frame, 750 steps"),
    "motion-gate": Variant("layered", ("generator.shift=true", "generator.motion_gate=true"),
                           "layered as its recipe now sets it: the frame decoder reads the motion code through a gate "
                           "that starts shut, its foreground moved by a translation per category"),
    "mocogan-categorical": Variant(
        "mocogan-categorical", ("train.mode=fast", "train.steps=300", "train.checkpoint_every=100",
                                "train.sample_every=100"),
        "the original's categorical recipe in the fast mode, 300 steps"),
}


@dataclass(frozen=True)
class Suite:
    """A suite: its variants, targets, metrics and report folder, and the folder of its real
    clips (``data_root``; None: the recipes' generated data)."""

    variants: dict[str, Variant]
    targets: Targets
    metrics: tuple[str, ...]
    out: str
    data_root: str | None = None


SUITES = {
    "quickstart": Suite(QUICKSTART, Targets(1.5, 0.9), ("acd", "mcs", "c2st"), "benchmarks/quality/quickstart"),
    "shapes": Suite(VARIANTS, Targets(1.5, 0.9), ("acd", "mcs", "c2st"), "benchmarks/quality"),
    "shapes-critics": Suite(SHAPES_CRITICS, Targets(1.5, 0.9), ("acd", "mcs", "c2st"), "benchmarks/quality/critics"),
    "shapes-generators": Suite(SHAPES_GENERATORS, Targets(1.5, 0.9), ("acd", "mcs", "c2st"),
                               "benchmarks/quality/generators"),
    "actions": Suite(ACTIONS, Targets(1.5, 0.8, 0.75), ("acd", "mcs", "c2st", "nn-c2st", "memorisation"),
                     "benchmarks/quality/actions", "../shared/data/mocogan-actions"),
}
