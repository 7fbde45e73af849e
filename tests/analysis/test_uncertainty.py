"""advgeom.analysis.uncertainty: intervals with the advertised coverage, paired differences, and finding checks
that fail when they should."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from advgeom.analysis.uncertainty import (
    Estimate,
    check_difference,
    normal_interval,
    paired_interval,
    summarise_over_seeds,
    t_interval,
)


def test_t_intervals_cover_the_true_mean_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(0)
    for n in (3, 10):  # Student-t is exact for normal data, even with three seeds
        covered = 0
        for _ in range(2000):
            est = t_interval(rng.normal(2.0, 0.5, n))
            covered += est.lo <= 2.0 <= est.hi
        assert 0.935 <= covered / 2000 <= 0.965, (n, covered / 2000)


def test_paired_differences_are_tighter_than_separate_intervals() -> None:
    rng = np.random.default_rng(1)
    shared = rng.normal(0, 1, 200)  # noise both conditions share (the same examples)
    a, b = shared + 0.1 + rng.normal(0, 0.05, 200), shared + rng.normal(0, 0.05, 200)
    diff = paired_interval(a, b)
    assert diff.lo > 0 and diff.half < 0.02
    assert t_interval(a).lo < t_interval(b).hi  # separately, the two intervals overlap
    with pytest.raises(ValueError, match="match"):
        paired_interval(a, b[:10])


def test_estimates_format_and_single_values() -> None:
    est = t_interval([1.0, 2.0, 3.0])
    assert est.value == 2.0 and est.half == pytest.approx(4.302653 * 1 / math.sqrt(3), rel=1e-6)
    assert est.format(2) == "2.00 ± 2.48"
    one = t_interval([0.7])
    assert math.isnan(one.half) and one.format() == "0.700" and not one.excludes_zero()
    assert normal_interval(1.0, 0.1).half == pytest.approx(0.196, abs=1e-3)
    with pytest.raises(ValueError, match="level"):
        t_interval([1.0, 2.0], level=1.5)
    with pytest.raises(ValueError, match="non-finite"):
        t_interval([1.0, float("nan")])


def test_summaries_over_seeds_use_the_run_error_for_a_single_seed() -> None:
    frame = pd.DataFrame({"model": ["a", "a", "a", "b"], "seed": [0, 1, 2, 0], "radius": [1.0, 1.2, 1.4, 0.5],
                          "radius_se": [0.1, 0.1, 0.1, 0.05]})  # fmt: skip
    out = summarise_over_seeds(frame, ["radius"], ["model"], se={"radius": "radius_se"}).set_index("model")
    assert out.loc["a", "radius"] == pytest.approx(1.2) and out.loc["a", "n_seeds"] == 3
    assert out.loc["a", "radius_half"] == pytest.approx(t_interval([1.0, 1.2, 1.4]).half)
    assert out.loc["b", "radius_half"] == pytest.approx(1.959964 * 0.05, rel=1e-6)
    bare = summarise_over_seeds(frame[frame.model == "b"], ["radius"], ["model"])
    assert math.isnan(bare.radius_half.iloc[0])


def test_finding_checks_establish_or_do_not_contradict() -> None:
    clear, unclear, reversed_ = Estimate(0.2, 0.05, 10), Estimate(0.02, 0.05, 10), Estimate(-0.2, 0.05, 10)
    check_difference(clear, "gain")
    check_difference(reversed_, "loss", expect="negative")
    with pytest.raises(AssertionError, match="gain: expected a positive difference"):
        check_difference(unclear, "gain")
    check_difference(unclear, "gain", establish=False)  # too small a run to establish it, but not contradicted
    with pytest.raises(AssertionError, match="contradict"):
        check_difference(reversed_, "gain", establish=False)
    check_difference(Estimate(0.3, float("nan"), 1), "single value")
    with pytest.raises(AssertionError):
        check_difference(Estimate(-0.3, float("nan"), 1), "single value")


def test_bootstrap_argmax_finds_a_clear_peak_and_widens_for_a_flat_one() -> None:
    from advgeom.analysis.uncertainty import bootstrap_argmax

    rng = np.random.default_rng(2)
    shared = rng.random(300)
    clear = {g: (shared < p).astype(float) for g, p in ((0.0, 0.2), (1.0, 0.5), (2.0, 0.8), (4.0, 0.4))}
    peak = bootstrap_argmax(clear)
    assert (peak.best, peak.lo, peak.hi) == (2.0, 2.0, 2.0) and peak.share > 0.99
    flat = {g: rng.random(300) < 0.5 for g in (0.0, 1.0, 2.0, 4.0)}
    wide = bootstrap_argmax({g: v.astype(float) for g, v in flat.items()})
    assert wide.lo < wide.hi and wide.share < 0.9
