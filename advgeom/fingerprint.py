"""Content fingerprints: what a cached result was computed from, identified by content, never by name.

A cache entry keyed by a checkpoint's *file name* is returned after the weights change (retrained
under the same name, edited, or changed in memory). Results are keyed instead by
:func:`model_fingerprint` (the architecture, every module's settings, such as a noise stage's scale
or switch, and the bytes of every weight and buffer) and :func:`tensor_digest` (the bytes of the inputs).
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import nn

_SETTINGS = (bool, int, float, str, type(None))


def _update_with_tensor(h: Any, t: torch.Tensor) -> None:
    import torch

    t = t.detach().cpu().contiguous()
    h.update(f"{t.dtype}{tuple(t.shape)}".encode())
    h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())


def model_fingerprint(model: nn.Module) -> str:
    """sha256 (16 hex digits) of a model's structure, module settings and weights.

    Covers ``repr(model)``, every module's public scalar attributes (``training``, a noise stage's
    ``scale``/``enabled``/``frozen_seed``, ...) and every tensor of ``state_dict()`` (name, dtype,
    shape, bytes). Two models with the same fingerprint compute the same function.
    """
    h = hashlib.sha256(type(model).__qualname__.encode())
    h.update(repr(model).encode())
    for name, module in model.named_modules():
        settings = {k: v for k, v in vars(module).items() if not k.startswith("_") and isinstance(v, _SETTINGS)}
        h.update(json.dumps([name, type(module).__qualname__, settings], sort_keys=True).encode())
    for key, tensor in model.state_dict().items():
        h.update(key.encode())
        _update_with_tensor(h, tensor)
    return h.hexdigest()[:16]


def tensor_digest(*tensors: torch.Tensor) -> str:
    """sha256 (16 hex digits) of the dtypes, shapes and bytes of ``tensors``."""
    h = hashlib.sha256()
    for t in tensors:
        _update_with_tensor(h, t)
    return h.hexdigest()[:16]
