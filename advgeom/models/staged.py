"""A sequential network of named stages, the container every advgeom vision model uses.

Each stage is a named child; the stages listed in ``recorded`` are the layers whose outputs
:func:`advgeom.models.extract_representations` returns, plus the input itself under the network's
``input_name`` (``pixels`` for images, ``waveform`` for the word networks).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn


class Normalize(nn.Module):
    """Per-channel ``(x - mean) / std``: inputs stay in their natural range outside the model."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"mean={self.mean.flatten().tolist()}, std={self.std.flatten().tolist()}"


class StagedNet(nn.Sequential):
    """``nn.Sequential`` of named stages with a list of the stages recorded as representation layers.

    ``config`` holds the parameters the model was built from (kept in checkpoints); ``input_name``
    names the input as a representation layer (``"pixels"``; the word networks say ``"waveform"``).
    """

    def __init__(
        self,
        stages: OrderedDict[str, nn.Module],
        recorded: Sequence[str],
        config: dict[str, Any] | None = None,
        *,
        input_name: str = "pixels",
    ) -> None:
        super().__init__(stages)
        missing = [r for r in recorded if r not in stages]
        if missing:
            raise ValueError(f"recorded stages {missing} are not stages of the network {list(stages)}")
        if input_name in stages:
            raise ValueError(f"input_name={input_name!r} is the name of a stage; the input needs its own name")
        self.recorded = tuple(recorded)
        self.config = dict(config or {})
        self.input_name = input_name
