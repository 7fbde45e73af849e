"""advgeom.analysis.export: a measurement table in the companion code's CSV columns."""

from __future__ import annotations

import pytest
import torch

from advgeom.analysis import Protocol, manifold_geometry
from advgeom.analysis.export import REFERENCE_COLUMNS, to_reference_schema
from advgeom.zoo import build_network


def test_reference_schema_columns_and_values() -> None:
    torch.manual_seed(0)
    net = build_network("standard").eval()
    x = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    frame = manifold_geometry(net, x, y, Protocol(n_t=20, width=50, eps=0.1, attack_steps=2), ["pixels", "logits"])
    out = to_reference_schema(frame, model="standard")
    assert tuple(out.columns) == REFERENCE_COLUMNS and len(out) == 2
    assert list(out.layer) == ["pixels", "logits"] and set(out.model) == {"standard"}
    assert (out.cap == frame.capacity).all() and (out.rad == frame.radius).all() and (out.PR == frame.PR).all()
    assert (out.P == 3).all() and (out.M == 2).all() and out.N.tolist() == [50, 10]
    assert (out.eps_step == 0.025).all() and (out.max_iter == 2).all() and not out.random.any()
    with pytest.raises(ValueError, match="model="):
        to_reference_schema(frame)
    with pytest.raises(ValueError, match="lacks the columns"):
        to_reference_schema(frame.drop(columns=["PR"]), model="standard")
