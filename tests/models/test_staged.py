"""StagedNet: named stages, the recorded ones, and the name of the input layer."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from torch import nn

from advgeom.models import Normalize, StagedNet


def test_recorded_stages_and_input_name() -> None:
    stages = OrderedDict(normalize=Normalize((0.5,), (0.5,)), flat=nn.Flatten(), logits=nn.Linear(4, 2))
    net = StagedNet(stages, ["logits"], {"arch": "toy"})
    assert net.recorded == ("logits",) and net.config == {"arch": "toy"} and net.input_name == "pixels"
    assert net(torch.ones(3, 1, 2, 2)).shape == (3, 2)
    assert StagedNet(OrderedDict(stages), ["flat"], input_name="waveform").input_name == "waveform"
    with pytest.raises(ValueError, match="not stages of the network"):
        StagedNet(OrderedDict(stages), ["nope"])
    with pytest.raises(ValueError, match="input_name='flat' is the name of a stage"):
        StagedNet(OrderedDict(stages), ["logits"], input_name="flat")
