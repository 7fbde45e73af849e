"""The registry of the study's networks by name, in the style of ``torchvision.models``.

Each network is a *builder* registered under a name with :func:`register_network`: a function of
keyword options (with their defaults) plus the runtime options ``device`` and ``progress``, which
returns the trained network in eval mode (trained and cached on first use, or loaded from a
checkpoint file), and an architecture builder for the untrained network. Then:

* :func:`list_networks` names them (``list_networks("vision")``, ``list_networks("audio")``);
* :func:`get_network` returns a trained network, :func:`build_network` an untrained architecture;
* :func:`network_info` describes one (modality, description, options with defaults);
* :class:`NetSpec` names a network with its options as a frozen, hashable value (what a sweep
  task or a cache key holds), built where it is needed with :meth:`NetSpec.build`.

An unknown name raises ValueError listing :func:`list_networks`; an unknown option raises
ValueError listing the network's options. This module imports no torch: listing and describing
networks is cheap.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from advgeom.checks import check_choice

if TYPE_CHECKING:
    import torch
    from torch import nn

F = TypeVar("F", bound=Callable[..., Any])

MODALITIES = ("vision", "audio")
SOURCES = ("trained", "checkpoint")  # trained and cached here / weights from a user's checkpoint file
RUNTIME_OPTIONS = ("device", "progress")  # given to every builder, not part of what a network is


@dataclass(frozen=True, eq=False)
class NetworkInfo:
    """What :func:`network_info` tells about a registered network.

    ``options``: the options of :func:`get_network` with their defaults (runtime options
    ``device`` and ``progress`` left out); ``build_options``: those :func:`build_network` takes;
    ``source``: ``"trained"`` (trained and cached on first use) or ``"checkpoint"`` (weights read from
    the local file given as option ``checkpoint``).
    """

    name: str
    modality: str
    description: str
    source: str
    options: Mapping[str, Any]
    build_options: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class _Entry:
    info: NetworkInfo
    get: Callable[..., Any]
    build: Callable[..., Any]


_REGISTRY: dict[str, _Entry] = {}


def register_network(
    name: str, *, modality: str, description: str, build: Callable[..., Any], source: str = "trained"
) -> Callable[[F], F]:
    """Decorator registering a builder of the trained network ``name`` (see the module docstring).

    The builder takes keyword options with defaults and ``device`` / ``progress``; ``build`` makes the
    untrained architecture and takes the builder's architecture options (those of its parameters that
    the builder also has).
    """
    check_choice("modality", modality, MODALITIES)
    check_choice("source", source, SOURCES)

    def decorate(fn: F) -> F:
        if name in _REGISTRY:
            raise ValueError(f"a network named {name!r} is already registered")
        params = inspect.signature(fn).parameters
        missing = [p for p in RUNTIME_OPTIONS if p not in params]
        no_default = [p.name for p in params.values() if p.default is inspect.Parameter.empty]
        if missing or no_default:
            raise TypeError(f"builder of {name!r}: needs {list(RUNTIME_OPTIONS)} and defaults for every option")
        options = {p.name: p.default for p in params.values() if p.name not in RUNTIME_OPTIONS}
        build_options = tuple(p for p in inspect.signature(build).parameters if p in options)
        info = NetworkInfo(name, modality, description, source, MappingProxyType(options), build_options)
        _REGISTRY[name] = _Entry(info, fn, build)
        return fn

    return decorate


def list_networks(modality: str | None = None, *, source: str | None = None) -> list[str]:
    """Names of the registered networks (in registration order), of one ``modality`` (``vision``, ``audio``)
    and ``source`` (``trained``, ``checkpoint``) when given."""
    if modality is not None:
        check_choice("modality", modality, MODALITIES)
    if source is not None:
        check_choice("source", source, SOURCES)
    return [
        n
        for n, e in _REGISTRY.items()
        if (modality is None or e.info.modality == modality) and (source is None or e.info.source == source)
    ]


def _entry(name: str) -> _Entry:
    check_choice("name", name, list(_REGISTRY))
    return _REGISTRY[name]


def network_info(name: str) -> NetworkInfo:
    """Modality, description, source and options (with defaults) of the network ``name``."""
    return _entry(name).info


def _check_options(name: str, given: Iterable[str], allowed: Iterable[str]) -> None:
    allowed = list(allowed)
    unknown = [k for k in given if k not in allowed]
    if not unknown:
        return
    if "checkpoint" in unknown:
        raise ValueError(
            f"checkpoint= is for the ImageNet architectures {list_networks(source='checkpoint')} (weights from a "
            f"local file); network {name!r} is trained and cached by advgeom.zoo.get_network"
        )
    raise ValueError(f"network {name!r} has no option {unknown[0]!r}; its options are {allowed}")


def get_network(name: str, **options: Any) -> nn.Module:
    """The trained network ``name`` with ``options`` (see :func:`network_info`), in eval mode.

    Zoo networks are trained on first use and cached on disk (keyed by every option that shapes
    them); ImageNet-scale ones load the local ``checkpoint`` file. ``device`` (default:
    :func:`advgeom.device.default_device`) and ``progress`` (progress bars while training) are
    accepted by every network.
    """
    entry = _entry(name)
    _check_options(name, options, [*entry.info.options, *RUNTIME_OPTIONS])
    return entry.get(**options)


def build_network(name: str, **options: Any) -> nn.Module:
    """The untrained architecture of ``name`` (architecture options only, see :func:`network_info`).

    Its weights are drawn from torch's global RNG: seed it first (``torch.manual_seed``) for reproducible
    weights.
    """
    entry = _entry(name)
    _check_options(name, options, entry.info.build_options)
    return entry.build(**options)


# ----------------------------------------------------------------------------------------------------- specs
def _freeze(value: Any) -> Any:
    """A hashable equivalent of an option value (lists and tuples to tuples, mappings to sorted pairs)."""
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _key_value(value: Any) -> Any:
    """An option value as a cache-key value: a spec object (a :class:`~advgeom.data.audio.CorpusSpec`) by its key."""
    key = getattr(value, "key", None)
    return key() if callable(key) else value


@functools.lru_cache(maxsize=64)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    """sha256 of a file's bytes (memoised per path, size and modification time), 16 hex digits."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


@dataclass(frozen=True, init=False)
class NetSpec:
    """A network by name with its options: frozen and hashable, validated on construction, built on demand.

    ``NetSpec("vone", {"noise_scale": 0.5})`` or ``NetSpec.create("vone", noise_scale=0.5)``; options are
    those of :func:`network_info` (``device`` and ``progress`` are given to :meth:`build`). ``label``
    names the network in results (default: derived, see :attr:`label`); it is not part of the key or
    of equality.
    """

    name: str
    options: tuple[tuple[str, Any], ...]
    custom_label: str | None = field(default=None, compare=False)

    def __init__(self, name: str, options: Mapping[str, Any] | None = None, *, label: str | None = None) -> None:
        entry = _entry(name)
        options = dict(options or {})
        runtime = [k for k in options if k in RUNTIME_OPTIONS]
        if runtime:
            raise ValueError(f"{runtime} are not options of a NetSpec; give them to NetSpec.build()")
        _check_options(name, options, entry.info.options)
        validate = getattr(entry.get, "validate_arguments", None)
        if validate is not None:  # the builder's declared constraints, applied without building anything
            converted = validate(**options)
            options = {k: converted[k] for k in options}
        if isinstance(options.get("checkpoint"), os.PathLike):
            options["checkpoint"] = os.fspath(options["checkpoint"])
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "options", tuple(sorted((k, _freeze(v)) for k, v in options.items())))
        object.__setattr__(self, "custom_label", label)

    @classmethod
    def create(cls, name: str, *, label: str | None = None, **options: Any) -> NetSpec:
        """``NetSpec(name, options, label=label)`` with the options as keywords."""
        return cls(name, options, label=label)

    @property
    def kwargs(self) -> dict[str, Any]:
        """The options given, as keyword arguments of :func:`get_network`."""
        return dict(self.options)

    @property
    def label(self) -> str:
        """The network's name in results: ``label`` if given, else the name, ``@noise_scale`` when a noise scale
        is given and ``=file`` for a checkpoint file (``"vone@0.5"``, ``"resnet50=ckpt.pt"``)."""
        if self.custom_label:
            return self.custom_label
        kw = self.kwargs
        label = self.name
        if kw.get("noise_scale") is not None:
            label += f"@{kw['noise_scale']:g}"
        if kw.get("checkpoint"):
            label += f"={Path(kw['checkpoint']).name}"
        return label

    def key(self) -> dict[str, Any]:
        """Cache-key fields: the name, every option (defaults filled in), and for a checkpoint file the sha256
        of its bytes (other weights in the same file are another network)."""
        info = network_info(self.name)
        options = {**info.options, **self.kwargs}
        out: dict[str, Any] = {"name": self.name, "options": {k: _key_value(v) for k, v in options.items()}}
        checkpoint = options.get("checkpoint")
        if checkpoint and Path(checkpoint).is_file():
            stat = Path(checkpoint).stat()
            out["checkpoint_sha256"] = _file_digest(str(Path(checkpoint).resolve()), stat.st_size, stat.st_mtime_ns)
        return out

    def build(self, device: torch.device | str | None = None, progress: bool = False) -> nn.Module:
        """The network in eval mode on ``device`` (:func:`get_network`: trained and cached, or loaded)."""
        return get_network(self.name, **self.kwargs, device=device, progress=progress)

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.options)
        return f"NetSpec({self.name!r}{', ' if options else ''}{options})"
