"""One checkpoint format for every network trained here (vision zoo and word networks).

A checkpoint is a dict ``{"params", "state_dict", "history"}`` written with ``torch.save`` under
``cache_dir()/<folder>/<param_key(params)>.pt`` (atomically, through :func:`advgeom.cache.cached`):
``params`` holds every parameter that shapes the network (the key's content, ``format`` =
:data:`CHECKPOINT_FORMAT` included), ``state_dict`` the weights on the CPU and ``history`` the
training history. On load (``weights_only=True``) the stored parameters must equal the requested
ones and the weights must fit the architecture, else the file is rebuilt, never used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advgeom.cache import cache_path, cached, canonical_json

if TYPE_CHECKING:
    import torch
    from torch import nn

CHECKPOINT_FORMAT = 1


def checkpoint_dict(params: Mapping[str, Any], net: nn.Module, history: dict[str, Any]) -> dict[str, Any]:
    """The checkpoint of a trained ``net``: ``{"params", "state_dict" (detached, on the CPU), "history"}``."""
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    return {"params": params, "state_dict": state, "history": history}


def save_checkpoint(ckpt: dict[str, Any], path: Path) -> None:
    """Write a ``{"params", "state_dict", "history"}`` checkpoint (to the temporary path ``cached`` gives)."""
    import torch

    torch.save(ckpt, path)


def load_checkpoint(path: Path, params: Mapping[str, Any], build: Callable[[], nn.Module]) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` and check it: it must be a checkpoint dict,
    trained with exactly ``params``, and its weights must fit ``build()``. Raises ``ValueError``
    otherwise, so that :func:`advgeom.cache.cached` rebuilds it instead of using it."""
    import torch

    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise ValueError(f"{path} is not an advgeom model checkpoint")
    if canonical_json(ckpt.get("params")) != canonical_json(params):
        raise ValueError(f"{path} was trained with other parameters: {ckpt.get('params')} != {params}")
    build().load_state_dict(ckpt["state_dict"])  # raises if the weights do not fit
    return ckpt


def checkpoint_network(
    ckpt: dict[str, Any], build: Callable[[], nn.Module], path: Path, device: torch.device
) -> nn.Module:
    """``build()`` with the checkpoint's weights, ``train_history`` and ``checkpoint_path`` attached, in eval mode."""
    net = build()
    net.load_state_dict(ckpt["state_dict"])
    net.train_history = ckpt["history"]
    net.checkpoint_path = path
    return net.to(device).eval()


def cached_network(
    folder: str,
    params: Mapping[str, Any],
    build: Callable[[], nn.Module],
    train: Callable[[], dict[str, Any]],
    device: torch.device,
) -> nn.Module:
    """The network of ``params``: its checkpoint in ``cache_dir()/folder`` if good, else ``train()``'s (saved).

    ``train()`` returns a checkpoint dict (:func:`checkpoint_dict`); ``build()`` makes the untrained
    architecture the weights are loaded into. Returns :func:`checkpoint_network`'s network.
    """
    path = cache_path(folder, params, ".pt")
    ckpt = cached(path, train, save_checkpoint, lambda p: load_checkpoint(p, params, build))
    return checkpoint_network(ckpt, build, path, device)
