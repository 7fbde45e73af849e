"""The one way advgeom reads "data": (x, y) tensors, a TensorDataset, or any iterable of (x, y) batches.

:func:`as_tensor_pair` gives the two tensors when the data are held in memory (None for a DataLoader
or another iterable); :func:`iter_batches` cuts them into consecutive batches (or passes the iterable
through). The attacks (:func:`advgeom.attacks.robust_accuracy`) and the trainer
(:func:`advgeom.train.train_model`) accept every form through these two functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch


def as_tensor_pair(data: Any) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``(x, y)`` for a TensorDataset (its first two tensors) or a pair of tensors; None for anything else."""
    if isinstance(data, torch.utils.data.TensorDataset):
        return data.tensors[0], data.tensors[1]
    if isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data):
        return data[0], data[1]
    return None


def iter_batches(data: Any, batch_size: int) -> Iterable[tuple[torch.Tensor, torch.Tensor]]:
    """Consecutive ``(x, y)`` batches of ``batch_size`` (a list) for in-memory data; other iterables as given."""
    pair = as_tensor_pair(data)
    if pair is None:
        return data
    x, y = pair
    return [(x[i : i + batch_size], y[i : i + batch_size]) for i in range(0, len(x), batch_size)]
