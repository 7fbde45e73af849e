"""advgeom.analysis.summaries: medians over seeds, late layers, and the shared finding checks (which must fail
when the finding does not hold)."""

from __future__ import annotations

import pandas as pd
import pytest

from advgeom.analysis.summaries import (
    assert_extended,
    assert_points,
    assert_untangling,
    late_layers,
    late_mean,
    median_over_seeds,
    untangling,
)


def table(rows: list[tuple]) -> pd.DataFrame:
    cols = ["model", "perturbation", "eps", "depth", "layer", "seed", "capacity", "radius", "dimension",
            "center_correlation"]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def test_median_over_seeds_groups_everything_but_the_seed() -> None:
    frame = table([("a", "adversarial", 0.0, 0, "pixels", s, c, 0.0, 1.0, 0.1) for s, c in enumerate([1.0, 3.0, 2.0])]
                  + [("a", "random", 0.0, 0, "pixels", 0, 9.0, 0.0, 1.0, 0.1)])  # fmt: skip
    med = median_over_seeds(frame)
    assert len(med) == 2 and "seed" not in med
    assert med.set_index("perturbation").capacity.to_dict() == {"adversarial": 2.0, "random": 9.0}


def test_late_layers_and_late_mean() -> None:
    rows = [("a", "adversarial", e, d, f"l{d}", 0, 1.0, d * 1.0 + e, 1.0, 0.0) for d in range(4) for e in (0.0, 0.1)]
    frame = table(rows)
    assert late_layers(frame) == [2, 3] and late_layers(frame, 1) == [3]
    assert late_mean(frame, "a", 0.1, "radius") == pytest.approx((2.1 + 3.1) / 2)
    assert late_mean(frame, "a", 0.0, "radius", n=3) == pytest.approx(2.0)


def test_point_and_extended_checks_pass_and_fail() -> None:
    points = table([("det", "adversarial", 0.0, d, "l", 0, 2.0, 0.0, 0.0, 0.0) for d in range(3)])
    cloud = table([("sto", "adversarial", 0.0, d, "l", 0, 1.2, 0.4, 3.0, 0.0) for d in range(3)])
    both = pd.concat([points, cloud])
    assert_points(both, ["det"], margin=0.05)
    assert_extended(both, ["sto"], margin=0.05)
    with pytest.raises(AssertionError, match="sto: clean exemplar manifolds should be points"):
        assert_points(both, ["sto"], margin=0.05)
    with pytest.raises(AssertionError, match="det: noise should give"):
        assert_extended(both, ["det"], margin=0.05)
    with pytest.raises(AssertionError, match="no rows"):
        assert_points(both, ["missing"], margin=0.05)


def test_untangling_gain_and_its_check() -> None:
    frame = table([("a", "adversarial", 0.0, d, "l", 0, c, 0.1, 1.0, 0.0) for d, c in enumerate([0.2, 0.5, 0.9])]
                  + [("b", "adversarial", 0.0, d, "l", 0, c, 0.1, 1.0, 0.0) for d, c in enumerate([0.3, 0.3, 0.31])])
    gains = untangling(frame)
    assert gains.loc["a", "gain"] == pytest.approx(0.7) and gains.loc["b", "first"] == 0.3
    assert_untangling(frame, ["a"], margin=0.05)
    with pytest.raises(AssertionError, match="b: class capacity should rise"):
        assert_untangling(frame, ["a", "b"], margin=0.05)
