"""Word-recognition networks on waveforms: cochlear front end (+ auditory-nerve noise) -> small ResNet.

A small-scale stand-in for CochResNet50 (Feather et al. 2019/2021; Dapello et al. 2021): the
cochleagram is the network's first stage, so inputs are waveforms and attacks perturb sound.
Stages (an :class:`~advgeom.models.staged.StagedNet`, recorded layers as for the vision models):

``cochleagram`` (deterministic) -> ``nerve`` (auditory-nerve noise; identity for the deterministic
twin) -> ``stem`` (3x3 conv, stride 2) -> ``block1``.. (BasicBlocks, stride 2 after the first) ->
``logits`` (global average pool + linear). Recorded: ``nerve``, ``block1``.., ``logits``; the input
layer (the waveform itself) is called ``waveform``.

The front end has no learnable parameters and its noise comes after the deterministic
cochleagram, so training can run on precomputed cochleagrams: :func:`forward_from` runs the
network from any stage (e.g. ``forward_from(net, coch, "nerve")``), with fresh noise each call, and
:func:`stages_from` gives those stages as a module to train.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from advgeom.checks import check_choice, check_float, check_int
from advgeom.models.cochlea import Cochleagram, auditory_nerve_noise
from advgeom.models.resnet import classifier_head, conv_bn_relu, init_weights, residual_stages
from advgeom.models.staged import StagedNet


class AddChannel(nn.Module):
    """``(B, C, F) -> (B, 1, C, F)``: a cochleagram as a one-channel image."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(1)


def word_resnet(
    num_classes: int = 20,
    *,
    gain: float | None = None,
    spontaneous: float = 0.0,
    widths: Sequence[int] = (16, 32, 64),
    depth: int = 1,
    **cochleagram: Any,
) -> StagedNet:
    """Cochleagram (+ auditory-nerve noise of ``gain``; ``None`` = deterministic twin) -> small ResNet.

    ``cochleagram``: keyword arguments of :class:`~advgeom.models.cochlea.Cochleagram` (``sample_rate``,
    ``n_channels``, ``low_hz``, ``high_hz``, ``envelope_rate``, ``compression``, ``compression_offset``;
    its defaults otherwise). Input: waveforms (B, T) at ``sample_rate``; output: logits (B, num_classes).
    For 1 s at 16 kHz the cochleagram is ``n_channels`` x 100 (40 x 100 by default). ``net.config``
    holds every argument, the cochleagram's as it uses them (``arch="word_resnet"``), and
    :func:`build_word_net` rebuilds the network from it. The input layer is called ``waveform``.
    """
    widths = [check_int("width", w, minimum=1) for w in widths]
    front = Cochleagram(**cochleagram)
    stages: OrderedDict[str, nn.Module] = OrderedDict()
    stages["cochleagram"] = front
    stages["nerve"] = nn.Identity() if gain is None else auditory_nerve_noise(gain, spontaneous=spontaneous)
    stages["stem"] = nn.Sequential(AddChannel(), conv_bn_relu(1, widths[0], 3, 2))
    stages.update(residual_stages(widths[0], widths, check_int("depth", depth, minimum=1)))
    stages["logits"] = classifier_head(widths[-1], check_int("num_classes", num_classes, minimum=2))
    recorded = [name for name in stages if name not in ("cochleagram", "stem")]
    config = {
        "arch": "word_resnet", "num_classes": num_classes, "gain": None if gain is None else float(gain),
        "spontaneous": check_float("spontaneous", spontaneous, minimum=0.0), "widths": list(widths), "depth": depth,
        **front.settings,
    }  # fmt: skip
    net = StagedNet(stages, recorded, config, input_name="waveform")
    init_weights(net)
    return net


def build_word_net(config: dict[str, Any]) -> StagedNet:
    """Rebuild the (untrained) network described by a ``word_resnet`` config (``net.config``)."""
    check_choice("arch", config.get("arch"), ["word_resnet"])
    kwargs = {k: v for k, v in config.items() if k != "arch"}
    return word_resnet(**kwargs)


def stages_from(net: StagedNet, start: str) -> nn.Sequential:
    """The stages of ``net`` from ``start`` on, as an ``nn.Sequential`` sharing their modules (and parameters).

    ``stages_from(net, "nerve")`` maps precomputed cochleagrams to logits: training it (e.g. with
    :func:`advgeom.train.train_model` on ``(cochleagrams, labels)``) trains ``net`` in place.
    """
    stages = list(net.named_children())
    names = [name for name, _ in stages]
    check_choice("start", start, names)
    return nn.Sequential(OrderedDict(stages[names.index(start) :]))


def forward_from(net: StagedNet, h: torch.Tensor, start: str) -> torch.Tensor:
    """Run ``net`` from stage ``start`` on its input ``h`` (e.g. precomputed cochleagrams at ``start="nerve"``)."""
    return stages_from(net, start)(h)
