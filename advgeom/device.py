"""Device selection: CUDA when present, else CPU (overridable with ``$ADVGEOM_DEVICE``), and a model's device."""

from __future__ import annotations

import os

import torch
from torch import nn


def default_device() -> torch.device:
    """The device to compute on: ``$ADVGEOM_DEVICE`` if set, else ``cuda`` when available, else ``cpu``."""
    name = os.environ.get("ADVGEOM_DEVICE")
    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def model_device(model: nn.Module, default: torch.device | str = "cpu") -> torch.device:
    """The device of ``model``: that of its first parameter, else of its first buffer, else ``default``."""
    for t in (*model.parameters(), *model.buffers()):
        return t.device
    return torch.device(default)
