"""Layer representations of a model: the input (pixels, waveform), front end / noise stage, each block, logits.

One function for every model (:func:`extract_representations`), so the geometry analyses
see the same layers for standard, adversarially trained and stochastic networks.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from advgeom.checks import check_int
from advgeom.device import model_device
from advgeom.models.staged import StagedNet


def _staged(model: nn.Module) -> StagedNet:
    if not isinstance(model, StagedNet):
        raise ValueError(
            f"representations need an advgeom StagedNet (built by advgeom.models); got {type(model).__name__}"
        )
    return model


def layer_names(model: nn.Module) -> list[str]:
    """Names of the layers :func:`extract_representations` can return, input to output: the input first
    (``net.input_name``: ``pixels``, or ``waveform`` for the word networks), then the recorded stages."""
    net = _staged(model)
    return [net.input_name, *net.recorded]


@torch.no_grad()
def extract_representations(
    model: nn.Module,
    x: torch.Tensor,
    layers: Sequence[str] | None = None,
    n_draws: int = 1,
    batch_size: int = 256,
) -> dict[str, torch.Tensor]:
    """Flattened features of ``x`` at each named layer, on the CPU.

    Returns ``{layer: Tensor}`` with shape (N, features) when ``n_draws == 1`` and
    (N, n_draws, features) otherwise, each draw a fresh pass (fresh noise for stochastic
    models). ``layers=None`` means all of :func:`layer_names` (the first, ``net.input_name``, is the
    input itself, flattened). The model is used as it is
    (call ``.eval()`` first: noise stays on in eval mode).
    """
    net = _staged(model)
    names = layer_names(net)
    layers = names if layers is None else list(layers)
    unknown = [name for name in layers if name not in names]
    if unknown:
        raise ValueError(f"unknown layers {unknown}; this model has {names}")
    n_draws = check_int("n_draws", n_draws, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    wanted = set(layers)
    last = max(names.index(name) for name in layers)
    stop_at = names[last]
    device = model_device(net, default=x.device)
    source = names[0]  # the input layer
    chunks: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
    for start in range(0, len(x), batch_size):
        xb = x[start : start + batch_size].to(device)
        draws: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
        for _ in range(n_draws):
            if source in wanted:
                draws[source].append(xb.flatten(1).to("cpu", copy=True))
            h = xb
            if stop_at != source:
                for name, stage in net.named_children():
                    h = stage(h)
                    if name in wanted:
                        draws[name].append(h.flatten(1).to("cpu", copy=True))
                    if name == stop_at:
                        break
        for name in layers:
            stacked = torch.stack(draws[name], dim=1)
            chunks[name].append(stacked[:, 0] if n_draws == 1 else stacked)
    return {name: torch.cat(chunks[name]) for name in layers}
