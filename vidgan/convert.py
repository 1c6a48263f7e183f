"""Convert weights saved by the original MoCoGAN code into vidgan state_dicts.

The original keeps its layers in an ``nn.Sequential`` called ``main`` (with parameter-free
noise, activation and tanh modules in between) and the motion GRU cell in ``recurrent``;
vidgan names them ``net.<i>.conv``/``net.<i>.norm`` and ``motion.gru``. Rather than a
table of key names, the conversion walks both models in order: the original's modules
that hold tensors (sorted by their index in ``main``) are paired one by one with the
convolutions and batch norms of a vidgan model built with the sizes read off the
original's tensors, and every tensor's shape is checked. Missing
``num_batches_tracked`` entries (checkpoints from PyTorch < 0.4) are filled in.

Only state_dicts can be read: the original code saves whole pickled modules, which
cannot be loaded safely; load those with the original code and save
``model.state_dict()``.

Example:
    >>> sd = load_original("generator_100000.pth")                       # doctest: +SKIP
    >>> kwargs = infer_generator_kwargs(sd, dim_z_category=6)            # doctest: +SKIP
    >>> MoCoGANGenerator(**kwargs).load_state_dict(convert_generator(sd))  # doctest: +SKIP
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vidgan.errors import VidganError

DISCRIMINATOR_NAMES = ("image", "patch-image", "video", "patch-video", "categorical-video")

_KEY = re.compile(r"^(?P<module>.+)\.(?P<param>[A-Za-z_]+)$")
_MAIN = re.compile(r"^main\.(?P<index>\d+)$")
_RECURRENT = "recurrent"
_OPTIONAL = {"num_batches_tracked"}

StateDict = dict[str, torch.Tensor]


@dataclass
class _Layer:
    """One module that holds tensors: its state_dict prefix, kind and tensors."""

    prefix: str
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        if "running_mean" in self.tensors or "running_var" in self.tensors:
            return "batch norm"
        if "weight_ih" in self.tensors or "weight_hh" in self.tensors:
            return "recurrent cell"
        return "convolution"

    def key(self, param: str) -> str:
        return f"{self.prefix}.{param}"

    def describe(self) -> str:
        weight = self.tensors.get("weight", self.tensors.get("weight_hh"))
        shape = f" with weight {tuple(weight.shape)}" if weight is not None else ""
        return f"a {self.kind} ({self.prefix}{shape})"


def _shape(t: torch.Tensor) -> tuple[int, ...]:
    return tuple(t.shape)


# reading the original ------------------------------------------------------------
def _strip_data_parallel(sd: Mapping[str, Any]) -> Mapping[str, Any]:
    if sd and all(k.startswith("module.") for k in sd):
        return {k[len("module."):]: v for k, v in sd.items()}
    return sd


def _original_layers(sd: Mapping[str, Any], allow_recurrent: bool) -> tuple[list[_Layer], _Layer | None]:
    """The original's tensor-holding modules of ``main`` in index order, and ``recurrent``."""
    if not isinstance(sd, Mapping):
        raise VidganError(f"expected a state_dict (a mapping of names to tensors), got {type(sd).__name__}")
    sd = _strip_data_parallel(sd)
    main: dict[int, _Layer] = {}
    recurrent = _Layer(_RECURRENT) if allow_recurrent else None
    for key, value in sd.items():
        if not isinstance(value, torch.Tensor):
            raise VidganError(f"state_dict entry {key!r} is a {type(value).__name__}, not a tensor")
        match = _KEY.match(key)
        module = match["module"] if match else ""
        main_match = _MAIN.match(module)
        if main_match:
            index = int(main_match["index"])
            main.setdefault(index, _Layer(module)).tensors[match["param"]] = value
        elif recurrent is not None and module == _RECURRENT:
            recurrent.tensors[match["param"]] = value
        else:
            expected = "'main.<i>.*' and 'recurrent.*'" if allow_recurrent else "'main.<i>.*'"
            raise VidganError(f"unexpected key {key!r} in the original state_dict (expected {expected})")
    layers = [main[i] for i in sorted(main)]
    if not layers:
        raise VidganError("the original state_dict has no 'main.<i>.*' weights; is it a MoCoGAN model?")
    return layers, recurrent


def _convolutions(layers: list[_Layer]) -> list[_Layer]:
    return [layer for layer in layers if layer.kind == "convolution" and "weight" in layer.tensors]


def _weight(layer: _Layer, ndim: tuple[int, ...]) -> torch.Tensor:
    weight = layer.tensors["weight"]
    if weight.ndim not in ndim:
        raise VidganError(
            f"{layer.key('weight')} should be a {' or '.join(f'{n}-d' for n in ndim)} convolution "
            f"weight, got shape {_shape(weight)}"
        )
    return weight


# reading vidgan --------------------------------------------------------------------
def _template_layers(model: nn.Module) -> tuple[list[_Layer], list[_Layer], StateDict]:
    """vidgan's convolutions/batch norms and recurrent cells in order, and its state_dict."""
    state = model.state_dict()
    groups: dict[str, _Layer] = {}
    for key, value in state.items():
        module, _, param = key.rpartition(".")
        groups.setdefault(module, _Layer(module)).tensors[param] = value
    layers = [g for g in groups.values() if g.kind != "recurrent cell"]
    cells = [g for g in groups.values() if g.kind == "recurrent cell"]
    return layers, cells, state


def _on_meta(factory: Any, **kwargs: Any) -> nn.Module:
    """Build a vidgan model without allocating its weights (only the shapes are needed)."""
    with torch.device("meta"):
        return factory(**kwargs)


# pairing -----------------------------------------------------------------------------
def _pair(original: _Layer, target: _Layer, out: StateDict, what: str) -> None:
    if original.kind != target.kind:
        raise VidganError(
            f"{original.prefix}: the vidgan {what} expects {target.describe()} here, "
            f"got {original.describe()}"
        )
    for param, value in original.tensors.items():
        if param not in target.tensors:
            raise VidganError(
                f"unexpected key {original.key(param)!r}: vidgan's {target.prefix} has no {param!r}"
            )
        expected = target.tensors[param]
        if _shape(value) != _shape(expected):
            raise VidganError(
                f"{original.key(param)}: expected shape {_shape(expected)} "
                f"(vidgan {target.key(param)}), got {_shape(value)}"
            )
        out[target.key(param)] = value.detach().clone()
    for param, expected in target.tensors.items():
        if param in original.tensors:
            continue
        if param not in _OPTIONAL:
            raise VidganError(
                f"missing key {original.key(param)!r} (expected shape {_shape(expected)})"
            )
        out[target.key(param)] = torch.zeros((), dtype=expected.dtype)


def _pair_all(originals: list[_Layer], targets: list[_Layer], out: StateDict, what: str) -> None:
    for original, target in zip(originals, targets):
        _pair(original, target, out, what)
    if len(originals) > len(targets):
        extra = originals[len(targets)]
        raise VidganError(
            f"unexpected key {extra.key(next(iter(extra.tensors)))!r}: the vidgan {what} has "
            f"only {len(targets)} layers with weights, the original has {len(originals)}"
        )
    if len(originals) < len(targets):
        missing = targets[len(originals)]
        param, expected = next(iter(missing.tensors.items()))
        after = f" after {originals[-1].prefix!r}" if originals else ""
        raise VidganError(
            f"missing weights{after}: the vidgan {what} expects {missing.kind} "
            f"{missing.key(param)} of shape {_shape(expected)} "
            f"({len(targets)} layers with weights, the original has {len(originals)})"
        )


# public API ---------------------------------------------------------------------------
def infer_generator_kwargs(original_state_dict: Mapping[str, Any], dim_z_category: int = 0) -> dict[str, int]:
    """Keyword arguments of :class:`~vidgan.generators.mocogan.MoCoGANGenerator` read off
    an original ``VideoGenerator`` state_dict.

    ``dim_z_category`` cannot be told apart from the content code in the weights (both are
    input channels of the first transposed convolution), so it is given; the original's
    default is 6 with ``--use_categories`` / ``--use_infogan``, else 0.

    Returns:
        ``channels``, ``image_size``, ``dim_z_content``, ``dim_z_category``,
        ``dim_z_motion`` and ``ngf``.
    """
    layers, recurrent = _original_layers(original_state_dict, allow_recurrent=True)
    if recurrent is None or "weight_hh" not in recurrent.tensors:
        raise VidganError("missing key 'recurrent.weight_hh' (the motion GRU cell) in the original state_dict")
    weight_hh = recurrent.tensors["weight_hh"]
    if weight_hh.ndim != 2 or weight_hh.shape[0] != 3 * weight_hh.shape[1]:
        raise VidganError(
            f"recurrent.weight_hh: expected shape (3·d, d) of a GRU cell, got {_shape(weight_hh)}"
        )
    dim_z_motion = weight_hh.shape[1]
    convs = _convolutions(layers)
    if not convs:
        raise VidganError("the original state_dict has no transposed convolution weights under 'main.'")
    first, last = _weight(convs[0], (4,)), _weight(convs[-1], (4,))
    dim_z = first.shape[0]
    if dim_z_category < 0:
        raise VidganError(f"dim_z_category must be >= 0, got {dim_z_category}")
    dim_z_content = dim_z - dim_z_motion - dim_z_category
    if dim_z_content < 1:
        raise VidganError(
            f"main.0 takes {dim_z} latent channels, which cannot hold dim_z_motion={dim_z_motion} "
            f"plus dim_z_category={dim_z_category} and a content code"
        )
    return {
        "channels": last.shape[1],
        "image_size": 2 ** (len(convs) + 1),  # 4×4 after the first layer, ×2 per later one
        "dim_z_content": dim_z_content,
        "dim_z_category": dim_z_category,
        "dim_z_motion": dim_z_motion,
        "ngf": last.shape[0],
    }


def convert_generator(original_state_dict: Mapping[str, Any]) -> StateDict:
    """The state_dict of vidgan's ``mocogan`` generator holding an original ``VideoGenerator``'s weights.

    Build the generator with :func:`infer_generator_kwargs` and load the result with
    ``strict=True``. The latent order [content, category, motion] is the original's, so
    the first transposed convolution converts as it is.
    """
    from vidgan.generators.mocogan import MoCoGANGenerator

    kwargs = infer_generator_kwargs(original_state_dict, dim_z_category=0)
    layers, recurrent = _original_layers(original_state_dict, allow_recurrent=True)
    template = _on_meta(MoCoGANGenerator, **kwargs)
    targets, cells, state = _template_layers(template)
    out: StateDict = {}
    if len(cells) != 1:
        raise VidganError(f"the vidgan mocogan generator has {len(cells)} recurrent cells, expected 1")
    _pair(recurrent, cells[0], out, "mocogan generator")
    _pair_all(layers, targets, out, "mocogan generator")
    return {key: out[key] for key in state}


def infer_discriminator_kwargs(original_state_dict: Mapping[str, Any], name: str) -> dict[str, int]:
    """Keyword arguments of vidgan's discriminator ``name`` read off an original state_dict.

    Returns ``channels``, ``image_size`` and ``ndf``, plus ``dim_categorical`` for
    ``categorical-video``.
    """
    if name not in DISCRIMINATOR_NAMES:
        raise VidganError(
            f"cannot convert a {name!r} discriminator; the original has {', '.join(DISCRIMINATOR_NAMES)}"
        )
    layers, _ = _original_layers(original_state_dict, allow_recurrent=False)
    convs = _convolutions(layers)
    if not convs:
        raise VidganError("the original state_dict has no convolution weights under 'main.'")
    ndim = 4 if name.endswith("image") else 5
    first, last = _weight(convs[0], (ndim,)), _weight(convs[-1], (ndim,))
    kwargs = {"channels": first.shape[1], "ndf": first.shape[0]}
    if name.startswith("patch"):
        kwargs["image_size"] = 64  # fixed depth; the original trains on 64×64
    else:
        kwargs["image_size"] = 2 ** (len(convs) + 1)  # strided layers down to 4×4, then the head
    if name == "categorical-video":
        if last.shape[0] < 2:
            raise VidganError(
                f"{convs[-1].key('weight')}: a categorical-video discriminator needs 1 + k outputs "
                f"(k >= 1 categories), got shape {_shape(last)}"
            )
        kwargs["dim_categorical"] = last.shape[0] - 1
    return kwargs


def convert_discriminator(original_state_dict: Mapping[str, Any], name: str) -> StateDict:
    """The state_dict of vidgan's discriminator ``name`` holding the original's weights.

    ``name`` is one of ``image``, ``patch-image``, ``video``, ``patch-video`` and
    ``categorical-video`` (the original's ImageDiscriminator, PatchImageDiscriminator,
    VideoDiscriminator, PatchVideoDiscriminator and CategoricalVideoDiscriminator). Build
    the discriminator with :func:`infer_discriminator_kwargs` and load the result with
    ``strict=True``.
    """
    from vidgan.registry import DISCRIMINATORS

    kwargs = infer_discriminator_kwargs(original_state_dict, name)
    layers, _ = _original_layers(original_state_dict, allow_recurrent=False)
    template = _on_meta(DISCRIMINATORS.get(name), **kwargs)
    targets, _, state = _template_layers(template)
    out: StateDict = {}
    _pair_all(layers, targets, out, f"{name} discriminator")
    return {key: out[key] for key in state}


def load_original(path: str | Path) -> StateDict:
    """Read a state_dict saved from the original code (safely: ``weights_only=True``).

    Accepts a bare state_dict or a dict with a ``'state_dict'`` entry. A whole pickled
    module (what the original's ``train.py`` saves) is refused with a hint.
    """
    path = Path(path)
    if not path.is_file():
        raise VidganError(f"no such checkpoint file: {path}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        refused = re.search(r"Unsupported global: GLOBAL (\S+)", str(err))
        if refused is None:  # a corrupt or foreign file, not a refused object
            raise VidganError(f"cannot read {path} as a PyTorch checkpoint (unpickling failed)") from err
        raise VidganError(
            f"{path} holds a pickled object ({refused[1]}), not a state_dict; pickled models cannot "
            f"be loaded safely: load it with the original MoCoGAN code, save "
            f"`torch.save(model.state_dict(), 'weights.pth')` and convert that file"
        ) from err
    except Exception as err:  # a truncated or foreign file
        message = f"{type(err).__name__}: {err}".splitlines()[0]
        raise VidganError(f"cannot read {path} as a PyTorch checkpoint ({message})") from err
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not obj or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()
    ):
        raise VidganError(
            f"{path} holds a {type(obj).__name__}, not a state_dict (names -> tensors) "
            f"or a dict with a 'state_dict' entry"
        )
    return dict(obj)
