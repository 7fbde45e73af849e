"""advgeom.data.batches: one reader of (x, y) tensors, TensorDatasets and DataLoaders."""

from __future__ import annotations

import torch

from advgeom.data.batches import as_tensor_pair, iter_batches


def test_as_tensor_pair() -> None:
    x, y = torch.arange(10.0).view(5, 2), torch.arange(5)
    for data in ((x, y), [x, y], torch.utils.data.TensorDataset(x, y), torch.utils.data.TensorDataset(x, y, y)):
        got = as_tensor_pair(data)
        assert got is not None and got[0] is x and got[1] is y
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=2)
    assert as_tensor_pair(loader) is None and as_tensor_pair((x, y, y)) is None and as_tensor_pair((x, [1])) is None


def test_iter_batches() -> None:
    x, y = torch.arange(10.0).view(5, 2), torch.arange(5)
    batches = iter_batches((x, y), 2)
    assert isinstance(batches, list) and [len(b) for b, _ in batches] == [2, 2, 1]
    assert torch.equal(torch.cat([b for b, _ in batches]), x) and torch.equal(torch.cat([c for _, c in batches]), y)
    assert [len(b) for b, _ in iter_batches(torch.utils.data.TensorDataset(x, y), 5)] == [5]
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=3)
    assert iter_batches(loader, 2) is loader  # an iterable of batches passes through with its own batch size
