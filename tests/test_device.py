"""advgeom.device: the default device (overridable) and the one lookup of a model's device."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from advgeom.device import default_device, model_device


def test_default_device_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVGEOM_DEVICE", "cpu")
    assert default_device() == torch.device("cpu")
    monkeypatch.delenv("ADVGEOM_DEVICE")
    assert default_device() == torch.device("cuda" if torch.cuda.is_available() else "cpu")


def test_model_device_parameters_then_buffers_then_default() -> None:
    assert model_device(nn.Linear(2, 2)) == torch.device("cpu")
    buffers_only = nn.Module()
    buffers_only.register_buffer("b", torch.zeros(1, device="meta"))
    assert model_device(buffers_only) == torch.device("meta")
    both = nn.Linear(2, 2)
    both.register_buffer("b", torch.zeros(1, device="meta"))
    assert model_device(both) == torch.device("cpu")  # the first parameter wins
    assert model_device(nn.ReLU()) == torch.device("cpu")
    assert model_device(nn.ReLU(), default="meta") == torch.device("meta")
