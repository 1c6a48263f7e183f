"""What is timed besides the peaks: the MoCoGAN conv stacks alone and full training iterations.

- ``layer``: each conv stack of the MoCoGAN models alone, forward (no autograd) and
  forward+backward (weight gradients, as in a D step), at the recipes' batch sizes, across
  memory format, precision and ``torch.compile`` (and cudnn.benchmark and CUDA graphs on
  CUDA);
- ``iteration``: one ``Trainer.train_step`` (image-D step, video-D step, G step) per
  recipe, in ``train.mode=reference`` and with the levers, each timed twice: with its
  real batches as in training (drawn in the step, or from the prefetch thread, which
  refills its queue before the next case runs), recording the time it waited for them,
  and as ``<config>, data precomputed``, the batches drawn once before timing (the
  iteration without its data).

Shape:
    layer inputs: latents ``b d`` (generator), frames ``b c h w`` (image D), clips
    ``b c t h w`` (video D).
"""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass, replace
from typing import Any, Callable

import torch
from omegaconf import DictConfig
from torch import nn

from vidgan import config as C
from vidgan.bench import Options
from vidgan.bench.timing import Case
from vidgan.bench.verdicts import HEADLINE, PRECOMPUTED
from vidgan.registry import DISCRIMINATORS
from vidgan import accel
from vidgan.accel import Levers

RECIPES = ("mocogan-categorical", "mocogan", "mocogan-patch")


# layer stacks ------------------------------------------------------------------------
@dataclass
class Stack:
    """A conv stack with an input of the recipe's batch size."""

    kind: str  # generator ConvTranspose2d | image D Conv2d | video D Conv3d
    name: str
    module: nn.Module
    input: torch.Tensor
    target: bool  # also timed with torch.compile and reduced precision probes


def stacks(configs: dict[str, DictConfig], device: torch.device) -> list[Stack]:
    """The decoder at the image and the video batch, and every recipe's discriminators."""
    from vidgan.build import build_generator

    headline = configs[HEADLINE]
    decoder = build_generator(headline).decoder
    data = headline.data
    images = headline.discriminators.image.batch
    frames = headline.discriminators.video.batch * data.video_length
    out = [Stack("generator ConvTranspose2d", f"dcgan-frames ×{n} frames", decoder,
                 torch.randn(n, decoder.dim_z), target=n == frames) for n in (images, frames)]
    seen = set()
    for recipe, cfg in configs.items():
        for critic, section in cfg.discriminators.items():
            if section.name in seen:
                continue
            seen.add(section.name)
            net = DISCRIMINATORS.build(section.name, **C.discriminator_kwargs(cfg, critic))
            size, c, b = cfg.data.image_size, cfg.data.channels, section.batch
            if net.view == "frames":
                kind, x, what = "image D Conv2d", torch.randn(b, c, size, size), f"×{b} frames"
            else:
                t = cfg.data.video_length
                kind, x, what = "video D Conv3d", torch.randn(b, c, t, size, size), f"×{b} clips of {t}"
            out.append(Stack(kind, f"{section.name} {what}", net, x,
                             target=recipe == HEADLINE))
    for s in out:
        s.module.to(device).train()
        s.input = s.input.to(device)
    return out


def _total(out: Any) -> torch.Tensor:
    parts = out if isinstance(out, tuple) else (out,)
    return sum(p.float().sum() for p in parts if isinstance(p, torch.Tensor))


def layer_fn(stack: Stack, lv: Levers, device: torch.device, backward: bool) -> Callable[[], Any]:
    """One call of a copy of ``stack`` with the levers ``lv``: forward without autograd, or
    forward+backward (``backward``)."""
    module = copy.deepcopy(stack.module)
    accel.apply(replace(lv, cudnn_benchmark=False), module, [])
    x = accel.to_layout(lv, stack.input)
    cuda = device.type == "cuda"

    def prepare() -> None:
        if cuda:
            torch.backends.cudnn.benchmark = lv.cudnn_benchmark
        if lv.cuda_graphs:
            torch.compiler.cudagraph_mark_step_begin()

    def fwd() -> Any:
        prepare()
        with torch.no_grad(), accel.autocast(lv, device):
            return module(x)

    def fwd_bwd() -> None:
        prepare()
        module.zero_grad(set_to_none=True)
        with accel.autocast(lv, device):
            out = module(x)
        _total(out).backward()

    return fwd_bwd if backward else fwd


def describe(lv: Levers) -> str:
    """A layer case's config, e.g. ``bf16 · channels_last · eager``."""
    parts = [lv.precision, "channels_last" if lv.channels_last else "contiguous"]
    if lv.cudnn_benchmark:
        parts.append("cudnn.benchmark")
    parts += [name for name in accel.GEMM_LAYERS if getattr(lv, name)]
    parts.append(("compile+cuda_graphs" if lv.cuda_graphs else "compile") if lv.compile else "eager")
    return " · ".join(parts)


def layer_levers(device: torch.device, compile: bool) -> list[tuple[Levers, bool]]:
    """(levers, target stacks only) pairs timed for every layer; the first is the baseline."""
    grid = [Levers(), Levers(channels_last=True)]
    if device.type == "cuda":
        for precision in ("bf16", "fp16"):
            grid += [Levers(precision=precision), Levers(precision=precision, channels_last=True)]
        amp = "bf16" if accel.native_bf16(device) else "fp16"
        best = Levers(precision=amp, channels_last=True, cudnn_benchmark=True)
        pairs = [(lv, False) for lv in grid] + [(best, False)]
        if compile:
            pairs += [(replace(best, compile=True), True), (replace(best, compile=True, cuda_graphs=True), True)]
        return pairs
    pairs = [(lv, False) for lv in grid]
    if accel.native_bf16(device):
        pairs += [(Levers(precision="bf16"), False), (Levers(precision="bf16", channels_last=True), False),
                  (Levers(precision="bf16", channels_last=True, conv3d_gemm=True, conv2d_gemm=True,
                          conv_transpose_gemm=True), False)]
    if compile:
        pairs.append((Levers(compile=True), True))
    return pairs


def layer_cases(configs: dict[str, DictConfig], device: torch.device, options: Options) -> list[Case]:
    """Every stack with every :func:`layer_levers` config, forward and forward+backward; on a
    CPU without native bf16, one bf16 forward of each target stack as a probe."""
    cases = []
    for stack in stacks(configs, device):
        for lv, target_only in layer_levers(device, options.compile):
            if target_only and not stack.target:
                continue
            for backward in (False, True):
                direction = "fwd+bwd" if backward else "fwd"
                cases.append(Case("layer", device.type, f"{stack.kind}: {stack.name}", describe(lv),
                                  direction, lv.precision, layer_fn(stack, lv, device, backward),
                                  flops_key=("layer", stack.name, direction), baseline=lv == Levers(),
                                  warmup=2 if lv.compile else 1, levers=lv.__dict__.copy()))
        if device.type == "cpu" and stack.target and not accel.native_bf16(device):
            lv = Levers(precision="bf16")  # a probe: one forward, bf16 has no native kernels here
            cases.append(Case("layer", device.type, f"{stack.kind}: {stack.name}", describe(lv), "fwd",
                              "bf16", layer_fn(stack, lv, device, False),
                              flops_key=("layer", stack.name, "fwd"), single=True, warmup=0,
                              note="single run: this CPU has no native bf16", levers=lv.__dict__.copy()))
    return cases


# full iterations ---------------------------------------------------------------------
def iteration_configs(recipe: str, device: torch.device, options: Options) -> list[tuple[str, list[str]]]:
    """(label, overrides) of the iterations timed for ``recipe``: the reference and fast first."""
    pairs = [("reference", ["train.mode=reference"]), ("fast", ["train.mode=fast"])]  # adjacent in each round
    if options.quick or recipe != HEADLINE:
        return pairs
    cuda = device.type == "cuda"
    fast = accel.fast_levers(device)
    singles = ["reuse_fakes", "skip_critic_grads", "fused_optim", "channels_last"]
    singles += [name for name in ("keep_memory", "fuse_critic_batches") if getattr(fast, name)]
    if cuda:
        singles += ["cudnn_benchmark"]
    precisions = ["bf16", "fp16"] if cuda else (["bf16"] if accel.native_bf16(device) else [])
    pairs.append(("standard", ["train.mode=standard"]))
    pairs += [(f"standard + {s}", [f"train.{s}=true"]) for s in singles]
    pairs += [(f"standard + {p}", [f"train.precision={p}"]) for p in precisions]
    if accel.native_bf16(device):
        pairs.append(("reference + bf16 + channels_last",
                      ["train.mode=reference", "train.precision=bf16", "train.channels_last=true"]))
    if options.compile:
        pairs.append(("standard + compile", ["train.compile=true"]))
    if not fast.channels_last:
        pairs.append(("fast + channels_last", ["train.mode=fast", "train.channels_last=true"]))
    pairs += [(f"fast without {name}", ["train.mode=fast", f"train.{name}=false"])
              for name in accel.GEMM_LAYERS if getattr(fast, name)]
    if options.compile:
        pairs.append(("fast + compile", ["train.mode=fast", "train.compile=true"]))
        if cuda:
            pairs.append(("fast + cuda_graphs", ["train.mode=fast", "train.cuda_graphs=true"]))
    return pairs


def timed_recipes(options: Options) -> tuple[str, ...]:
    """The recipes whose iterations are timed: the headline one with ``--quick``, else all."""
    return (HEADLINE,) if options.quick else RECIPES


def recipe_config(recipe: str, device: torch.device, overrides: list[str]) -> DictConfig:
    """The config of ``recipe`` on ``device`` with ``overrides``, for timing (no run folder is written)."""
    return C.load_config([f"recipe={recipe}", f"device={device.type}", "run_dir=unused", *overrides])


def iteration_case(recipe: str, label: str, overrides: list[str], device: torch.device,
                   options: Options, stack: contextlib.ExitStack, precomputed: bool = False) -> Case:
    """One full iteration of ``recipe``: its real batches as the training loop gets them
    (prefetched in a thread while ``stack`` is open, when the config says so), or
    ``precomputed`` once before timing (the iteration without its data, labelled
    ``<label>, data precomputed`` and compared with the reference's precomputed case)."""
    from vidgan.training.trainer import Trainer

    trainer = Trainer(recipe_config(recipe, device, [*options.overrides, *overrides]))
    lv = trainer.levers
    algorithm = (recipe, trainer.cfg.train.mode == "reference", lv.reuse_fakes, lv.skip_critic_grads)
    reals = trainer.real_batches() if precomputed else None
    prefetcher = None if precomputed else stack.enter_context(trainer.prefetching())

    def step() -> dict[str, float]:
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = lv.cudnn_benchmark
        return trainer.train_step(reals)

    return Case("iteration", device.type, recipe, label + PRECOMPUTED if precomputed else label,
                "iteration", lv.precision, step, flops_key=("iteration", *algorithm),
                baseline=label == "reference", precomputed=precomputed, warmup=2 if lv.compile else 1,
                levers=lv.__dict__.copy(), data_time=lambda: trainer.data_seconds,
                modules=[trainer.generator, *(c.net for c in trainer.critics)], trainer=trainer,
                settle=prefetcher.wait_full if prefetcher else None)


def iteration_cases(device: torch.device, options: Options, stack: contextlib.ExitStack) -> list[Case]:
    """Every recipe's iterations, each with its data and then with its real batches
    precomputed. Prefetch threads run until ``stack`` closes."""
    cases = []
    for recipe in timed_recipes(options):
        for label, overrides in iteration_configs(recipe, device, options):
            cases += [iteration_case(recipe, label, overrides, device, options, stack, precomputed)
                      for precomputed in (False, True)]
        if recipe == HEADLINE and device.type == "cpu" and not options.quick \
                and not accel.native_bf16(device):
            cases.append(Case("iteration", device.type, recipe, "standard + bf16", "iteration", "bf16",
                              lambda: None, skipped=True, note="skipped: no native bf16 on this CPU (see the bf16 "
                              "layer probes); one iteration would take minutes",
                              levers={"precision": "bf16"}))
    return cases
