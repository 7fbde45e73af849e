"""Device selection: CUDA when present, else CPU (overridable with ``$ADVGEOM_DEVICE``)."""

from __future__ import annotations

import os

import torch


def default_device() -> torch.device:
    """The device to compute on: ``$ADVGEOM_DEVICE`` if set, else ``cuda`` when available, else ``cpu``."""
    name = os.environ.get("ADVGEOM_DEVICE")
    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
