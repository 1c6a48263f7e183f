"""Configs: a typed schema, recipe loading, ``key=value`` overrides and validation.

A run's config is the schema's defaults, then the recipe's YAML, then command-line
overrides. The fixed parts (``train``, ``optim``, ``data``'s common keys, ...) are
typed by OmegaConf; component sections (``generator``, each of ``discriminators``,
``data``'s extra keys) are checked against the registered component's constructor, so
a plugin's own keys are typed too. Every problem is a one-line :class:`VidganError`
raised before any work starts.

Example:
    >>> cfg = load_config(["recipe=mocogan", "train.steps=10"])
    >>> cfg.train.steps, cfg.discriminators.video.name
    (10, 'video')
"""

from __future__ import annotations

import difflib
import inspect
import typing
from dataclasses import dataclass, field, fields, make_dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from vidgan.data.base import min_frames
from vidgan.data.detect import detect_dataset
from vidgan.errors import VidganError
from vidgan.registry import AUGMENTATIONS, DATASETS, DISCRIMINATORS, GENERATORS, LOSSES, RECIPES, Registry


@dataclass
class DataConfig:
    name: str = "auto"  # auto: what root's files call for (vidgan.data.detect), else synthetic-shapes
    root: Optional[str] = None
    image_size: int = 64
    channels: int = 3
    video_length: int = 16
    every_nth: int = 2
    options: Dict[str, Any] = field(default_factory=dict)  # dataset-specific keys


@dataclass
class OptimConfig:
    lr: float = 2e-4
    betas: List[float] = field(default_factory=lambda: [0.5, 0.999])
    weight_decay: float = 1e-5


@dataclass(frozen=True)
class Levers:
    """The speed options of the training step, each off (:mod:`vidgan.accel` applies them).

    Each is also an optional ``train.<name>`` key: unset (null) it takes ``train.mode``'s
    value, set it wins (:func:`vidgan.accel.resolve`).
    """

    precision: str = "fp32"  # autocast dtype for forward passes: fp32 (off), bf16, fp16 (CUDA)
    channels_last: bool = False  # channels_last / channels_last_3d weights and inputs
    compile: bool = False  # torch.compile the frame decoder and the discriminators
    reuse_fakes: bool = False  # one generator forward per critic and iteration, reused by D and G steps
    skip_critic_grads: bool = False  # G step computes no (discarded) gradients of the critics' weights
    fused_optim: bool = False  # Adam(fused=True): one kernel per parameter instead of ~10
    cudnn_benchmark: bool = False  # CUDA: cudnn picks the fastest convolution algorithm per shape
    cuda_graphs: bool = False  # CUDA: compile with mode="reduce-overhead" (CUDA graphs)
    prefetch: int = 0  # real batches drawn this many steps ahead in a thread; 0: drawn in the step
    keep_memory: bool = False  # glibc malloc keeps freed memory for reuse (fewer page faults)
    conv3d_gemm: bool = False  # Conv3d calls with small outputs as one GEMM, RGB ones space-to-depth with AMX
    conv2d_gemm: bool = False  # Conv2d calls with small outputs as one GEMM
    conv_transpose_gemm: bool = False  # ConvTranspose2d gradients on small inputs as GEMMs
    fuse_critic_batches: bool = False  # D step: one critic call on its real and fake batches


def with_lever_keys(cls: type) -> type:
    """``cls`` with every :class:`Levers` field as an optional key after its own, unset (None)."""
    hints = typing.get_type_hints(Levers)
    keys = [(f.name, Optional[hints[f.name]], None) for f in fields(Levers)]
    return make_dataclass(cls.__name__, keys, bases=(cls,), namespace={"__module__": cls.__module__,
                                                                         "__doc__": cls.__doc__})


@with_lever_keys
@dataclass
class TrainConfig:
    """The ``train`` section: the loop's keys, then ``mode`` and the :class:`Levers` keys."""

    steps: int = 100_000
    sample_every: int = 500
    checkpoint_every: int = 1000
    num_samples: int = 8
    keep_checkpoints: int = 3  # newest checkpoints kept; 0 keeps all
    resume: Optional[str] = None
    ema_decay: float = 0.0  # generator EMA for samples and evaluation; 0 turns it off
    on_nan: str = "stop"  # a NaN/inf loss: stop (keeping the last checkpoint) or skip the step
    sync_batchnorm: bool = False  # with torchrun on CUDA: batch statistics over all processes
    tensorboard: bool = False  # also log losses for TensorBoard (needs the tensorboard package)
    mode: str = "standard"  # standard | reference (the original's computation) | fast


@dataclass
class Config:
    recipe: str = "mocogan"
    seed: int = 0
    device: str = "auto"
    run_dir: Optional[str] = None  # default: runs/<recipe>-<date>-<time>
    generator: Dict[str, Any] = field(default_factory=lambda: {"name": "mocogan"})
    discriminators: Dict[str, Any] = field(default_factory=dict)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


# Keys of a critic section that the trainer uses; the rest go to the discriminator.
CRITIC_KEYS: dict[str, Any] = {"name": str, "batch": int, "loss": Union[str, dict], "weight": float,
                               "aux": List[Union[str, dict]], "augment": Union[str, dict], "projection": bool}
DEVICES = ("auto", "cpu", "cuda")
MODES = ("standard", "reference", "fast")
PRECISIONS = ("fp32", "bf16", "fp16")


def parse_overrides(args: list[str]) -> DictConfig:
    """``["a.b=1", ...]`` to a config; a malformed item is a one-line error."""
    for arg in args:
        key = arg.split("=", 1)[0]
        if "=" not in arg or not key or " " in key:
            raise VidganError(f"bad override {arg!r}: write key=value, e.g. train.steps=200, "
                              "or ~key to drop a key the recipe sets")
    try:
        return OmegaConf.from_dotlist(list(args))
    except (OmegaConfBaseException, yaml.YAMLError) as err:
        raise VidganError(f"bad override in {args}: {str(err).splitlines()[0]}") from None


def _all_keys(node: Any, prefix: str = "") -> list[str]:
    if not isinstance(node, DictConfig):
        return []
    keys = []
    for key in node.keys():
        path = f"{prefix}{key}"
        keys.append(path)
        keys.extend(_all_keys(node._get_node(key), path + "."))
    return keys


def _merge(schema: DictConfig, *configs: DictConfig) -> DictConfig:
    try:
        return OmegaConf.merge(schema, *configs)
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None) or ""
        message = str(err).splitlines()[0]
        if "Key" in type(err).__name__ or "not in struct" in message:
            close = difflib.get_close_matches(key, _all_keys(schema), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise VidganError(f"unknown config key {key!r}{hint} (see `vidgan show recipe=NAME`)") from None
        raise VidganError(f"bad value for {key!r}: {message}") from None


def recipe_path(name: str) -> Path:
    """The YAML file of a registered recipe."""
    path = Path(RECIPES.get(name))
    if not path.is_file():
        raise VidganError(f"recipe {name!r} points to {path}, which is not a file")
    return path


def drop_keys(base: DictConfig, keys: list[str]) -> None:
    """Remove ``keys`` (dotted) from a recipe, as ``~generator.shift`` asks: a component
    swapped for one that does not take a key the recipe sets for the old one."""
    for key in keys:
        parent, _, leaf = key.rpartition(".")
        node = OmegaConf.select(base, parent) if parent else base
        if not isinstance(node, DictConfig) or leaf not in node:
            raise VidganError(f"~{key}: the recipe sets no {key}, so there is nothing to drop")
        del node[leaf]


def load_config(args: list[str]) -> DictConfig:
    """Resolve ``recipe=NAME`` and overrides (or ``train.resume=RUN_DIR``) into a validated
    config; ``~KEY`` items drop a key the recipe sets (:func:`drop_keys`)."""
    overrides = parse_overrides([arg for arg in args if not arg.startswith("~")])
    schema = OmegaConf.structured(Config)
    resume = OmegaConf.select(overrides, "train.resume")
    if resume:
        saved = Path(resume) / "config.yaml"
        if not saved.is_file():
            raise VidganError(f"train.resume={resume}: no config.yaml there; point it at a run folder")
        base = OmegaConf.load(saved)
    else:
        recipe = OmegaConf.select(overrides, "recipe")
        if not recipe:
            raise VidganError("name a recipe, e.g. `vidgan run recipe=mocogan` (see `vidgan list recipes`)")
        base = OmegaConf.load(recipe_path(str(recipe)))
        base.recipe = str(recipe)
    drop_keys(base, [arg[1:] for arg in args if arg.startswith("~")])
    cfg = _merge(schema, base, overrides)
    validate(cfg)
    return cfg


# validation -------------------------------------------------------------------------
def _type_ok(value: Any, hint: Any) -> bool:
    if hint is Any or hint is inspect.Parameter.empty:
        return True
    origin = typing.get_origin(hint)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        return any(_type_ok(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin in (list, List, tuple):
        args = typing.get_args(hint)
        return isinstance(value, (list, tuple)) and all(_type_ok(v, args[0]) for v in value) if args \
            else isinstance(value, (list, tuple))
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint) if isinstance(hint, type) else True


def _type_name(hint: Any) -> str:
    if hint == Union[str, dict]:
        return "a name or a {name: NAME, key: value} mapping"
    return getattr(hint, "__name__", str(hint).replace("typing.", ""))


def component_kwargs(section: str, values: dict[str, Any], factory: Any,
                     derived: dict[str, Any]) -> dict[str, Any]:
    """Check ``values`` against ``factory``'s keyword parameters; add the ``derived`` ones it takes.

    ``derived`` maps a parameter to ``(value, config key it comes from)``: setting one in
    the section is an error that names that key.
    """
    signature = inspect.signature(factory)
    try:
        hints = typing.get_type_hints(factory.__init__ if inspect.isclass(factory) else factory)
    except Exception:  # unresolvable annotations: skip type checks
        hints = {}
    params = {n: p for n, p in signature.parameters.items()
              if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
    takes_any = any(p.kind == p.VAR_KEYWORD for p in signature.parameters.values())
    for key, value in values.items():
        if key in derived:
            raise VidganError(f"{section}.{key} comes from {derived[key][1]}; set that instead")
        if key not in params and not takes_any:
            close = difflib.get_close_matches(key, list(params), n=1)
            hint = (f"; did you mean {section}.{close[0]}?" if close
                    else f"; if the recipe sets it, ~{section}.{key} drops it")
            takes = [k for k in params if k not in derived]
            raise VidganError(f"unknown config key {section}.{key}{hint} "
                              f"({'it takes: ' + ', '.join(takes) if takes else 'it takes no keys'})")
        if key in hints and not _type_ok(value, hints[key]):
            raise VidganError(f"{section}.{key} must be {_type_name(hints[key])}, got {value!r}")
    kwargs = {k: v for k, (v, _) in derived.items() if k in params or takes_any}
    kwargs.update(values)
    return kwargs


def dataset_name(cfg: DictConfig) -> str:
    """``data.name``; for ``auto``, the data set ``data.root``'s files call for, else synthetic-shapes."""
    if cfg.data.name == "auto":
        return detect_dataset(cfg.data.root) if cfg.data.root else "synthetic-shapes"
    return cfg.data.name


def dataset_kwargs(cfg: DictConfig) -> dict[str, Any]:
    derived = {"image_size": (cfg.data.image_size, "data.image_size"),
               "channels": (cfg.data.channels, "data.channels"),
               "min_frames": (min_frames(cfg.data.video_length, cfg.data.every_nth),
                              "data.video_length and data.every_nth")}
    if cfg.data.root:
        derived["root"] = (cfg.data.root, "data.root")
    name = dataset_name(cfg)
    kwargs = component_kwargs("data.options", OmegaConf.to_container(cfg.data.options),
                              DATASETS.get(name), derived)
    if cfg.data.root and "root" not in inspect.signature(DATASETS.get(name)).parameters:
        raise VidganError(f"dataset {name!r} reads no folder; drop data.root or set data.name=frame-strips")
    return kwargs


def generator_kwargs(cfg: DictConfig) -> dict[str, Any]:
    values = OmegaConf.to_container(cfg.generator)
    values.pop("name", None)
    derived = {"channels": (cfg.data.channels, "data.channels"),
               "image_size": (cfg.data.image_size, "data.image_size"),
               "video_length": (cfg.data.video_length, "data.video_length")}
    return component_kwargs("generator", values, GENERATORS.get(cfg.generator.name), derived)


def component_spec(spec: Any, section: str, registry: Registry) -> tuple[str, dict[str, Any]]:
    """A component named by ``spec``: a name, or ``{name: NAME, key: value, ...}``.

    Returns the name and the checked keyword arguments, e.g. ``("wgan-gp", {"weight": 5.0})``
    for ``discriminators.video.loss={name: wgan-gp, weight: 5}``.
    """
    if isinstance(spec, str):
        registry.get(spec)  # an unknown name is an error with suggestions
        return spec, {}
    values = OmegaConf.to_container(spec) if isinstance(spec, DictConfig) else dict(spec)
    name = values.pop("name", None)
    if not isinstance(name, str):
        raise VidganError(f"{section} needs a name: write {section}=NAME or {section}={{name: NAME, key: value}}")
    return name, component_kwargs(section, values, registry.get(name), {})


def discriminator_kwargs(cfg: DictConfig, critic: str) -> dict[str, Any]:
    section = OmegaConf.to_container(cfg.discriminators[critic])
    values = {k: v for k, v in section.items() if k not in CRITIC_KEYS}
    derived = {"channels": (cfg.data.channels, "data.channels"),
               "image_size": (cfg.data.image_size, "data.image_size"),
               "dim_categorical": (cfg.generator.get("dim_z_category", 0), "generator.dim_z_category")}
    return component_kwargs(f"discriminators.{critic}", values,
                            DISCRIMINATORS.get(section["name"]), derived)


def validate(cfg: DictConfig) -> None:
    """Check names, keys, types and values of a merged config."""
    if cfg.device not in DEVICES:
        raise VidganError(f"device must be one of {', '.join(DEVICES)}, got {cfg.device!r}")
    for key in ("steps", "sample_every", "checkpoint_every", "num_samples"):
        if cfg.train[key] < 1:
            raise VidganError(f"train.{key} must be at least 1, got {cfg.train[key]}")
    if cfg.train.mode not in MODES:
        raise VidganError(f"train.mode must be one of {', '.join(MODES)}, got {cfg.train.mode!r}")
    if cfg.train.precision not in (None, *PRECISIONS):
        raise VidganError(f"train.precision must be one of {', '.join(PRECISIONS)}, got {cfg.train.precision!r}")
    if cfg.train.prefetch is not None and cfg.train.prefetch < 0:
        raise VidganError(f"train.prefetch must be 0 (off) or a number of steps ahead, got {cfg.train.prefetch}")
    if cfg.train.on_nan not in ("stop", "skip"):
        raise VidganError(f"train.on_nan must be stop or skip, got {cfg.train.on_nan!r}")
    if not 0 <= cfg.train.ema_decay < 1:
        raise VidganError(f"train.ema_decay must lie in [0, 1), got {cfg.train.ema_decay}")
    if cfg.train.keep_checkpoints < 0:
        raise VidganError(f"train.keep_checkpoints must be 0 (keep all) or more, got {cfg.train.keep_checkpoints}")
    for key in ("video_length", "every_nth", "channels"):
        if cfg.data[key] < 1:
            raise VidganError(f"data.{key} must be at least 1, got {cfg.data[key]}")
    if not isinstance(cfg.generator.get("name"), str):
        raise VidganError("generator.name is missing; e.g. generator.name=mocogan")
    generator_kwargs(cfg)
    dataset_kwargs(cfg)
    if not cfg.discriminators:
        raise VidganError("the recipe has no discriminators; add discriminators.<name>.name=...")
    for critic, section in cfg.discriminators.items():
        if not isinstance(section, DictConfig) or not isinstance(section.get("name"), str):
            raise VidganError(f"discriminators.{critic} needs a name, e.g. discriminators.{critic}.name=video")
        values = OmegaConf.to_container(section)
        for key, hint in CRITIC_KEYS.items():
            if key in values and not _type_ok(values[key], hint):
                raise VidganError(f"discriminators.{critic}.{key} must be {_type_name(hint)}, got {values[key]!r}")
        if section.get("batch", 1) < 1:
            raise VidganError(f"discriminators.{critic}.batch must be at least 1")
        component_spec(section.get("loss", "bce"), f"discriminators.{critic}.loss", LOSSES)
        for i, aux in enumerate(section.get("aux", [])):
            component_spec(aux, f"discriminators.{critic}.aux[{i}]", LOSSES)
        if section.get("augment"):
            component_spec(section.augment, f"discriminators.{critic}.augment", AUGMENTATIONS)
        discriminator_kwargs(cfg, critic)
