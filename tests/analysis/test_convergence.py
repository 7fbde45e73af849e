"""advgeom.analysis.convergence: the attack-strength grid, its paired differences, AutoAttack, the convergence check."""

from __future__ import annotations

from unittest import mock

import pandas as pd
import pytest
import torch

from advgeom.analysis.convergence import (
    attack_setting,
    autoattack_scores,
    check_converged,
    convergence_table,
    setting_scores,
)
from advgeom.zoo import build_network


@pytest.fixture(scope="module")
def case() -> tuple[dict[str, torch.nn.Module], torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    models = {"std": build_network("standard").eval(), "sto": build_network("vone").eval()}
    x = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = models["std"](x).argmax(1)  # the standard net is right on every clean image
    return models, x, y


def test_grid_rows_flags_and_paired_differences(case) -> None:
    models, x, y = case
    table = convergence_table(models, x, y, eps=0.02, steps=3, eot=2, steps_grid=(1, 3), eot_grid=(1, 4),
                              n_draws=4, progress=False)  # fmt: skip
    std, sto = table[table.model == "std"], table[table.model == "sto"]
    assert set(zip(std.steps, std.eot, strict=True)) == {(1, 1), (3, 1), (12, 1)}  # one draw: deterministic
    assert set(zip(sto.steps, sto.eot, strict=True)) == {(1, 2), (3, 2), (3, 1), (3, 4), (12, 8)}
    for rows in (std, sto):
        assert rows.default.sum() == 1 and rows.strongest.sum() == 1
        assert rows[rows.default]["diff"].iloc[0] == 0.0  # the default against itself
        assert (rows.lo <= rows.accuracy).all() and (rows.accuracy <= rows.hi).all()
    assert std[std.strongest]["diff"].iloc[0] <= 0.0  # a deterministic net: more steps never find less


def test_attack_setting_is_the_tables_default_and_strongest(case) -> None:
    models, x, y = case
    chosen = {"steps": 3, "eot": 2, "deterministic_steps": 5, "deterministic_restarts": 2}
    assert attack_setting(models["sto"], **chosen) == (3, 2, 1)
    assert attack_setting(models["sto"], **chosen, stronger=4) == (12, 8, 1)
    assert attack_setting(models["std"], **chosen) == (5, 1, 2)
    assert attack_setting(models["std"], **chosen, stronger=4) == (20, 1, 8)
    table = convergence_table(models, x, y, eps=0.02, steps_grid=(1,), eot_grid=(1,), n_draws=2, progress=False,
                              **chosen)  # fmt: skip
    for name, model in models.items():
        rows = table[table.model == name].set_index(["default", "strongest"])
        for flags, stronger in (((True, False), 1), ((False, True), 4)):
            row = rows.loc[flags]
            assert (row.steps, row.eot, row.restarts) == attack_setting(model, **chosen, stronger=stronger)
            # the scores of that setting, as a chapter asks for them: the table's, from the same cache
            with mock.patch("advgeom.analysis.accuracy.robust_scores", side_effect=AssertionError("recomputed")):
                scores = setting_scores(model, x, y, eps=0.02, n_draws=2, stronger=stronger, **chosen)
            assert scores.mean() == pytest.approx(row.accuracy)
    with pytest.raises(ValueError, match="stronger=0"):
        attack_setting(models["std"], steps=1, eot=1, stronger=0)


def test_deterministic_models_take_their_own_steps(case) -> None:
    """``deterministic_steps``: the deterministic net's default is that many steps and its strongest four times
    that; the stochastic net keeps ``steps``."""
    models, x, y = case
    table = convergence_table(models, x, y, eps=0.02, steps=3, eot=2, steps_grid=(1,), eot_grid=(1,), n_draws=4,
                              deterministic_steps=5, progress=False)  # fmt: skip
    std, sto = table[table.model == "std"], table[table.model == "sto"]
    assert set(zip(std.steps, std.eot, strict=True)) == {(1, 1), (5, 1), (20, 1)}
    assert std[std.default].steps.iloc[0] == 5 and std[std.strongest].steps.iloc[0] == 20
    assert sto[sto.default].steps.iloc[0] == 3 and sto[sto.strongest].steps.iloc[0] == 12


def test_deterministic_models_are_attacked_from_their_own_restarts(case) -> None:
    """``deterministic_restarts``: the deterministic net's default and steps grid start from that many random
    points, its strongest setting from four times as many; the stochastic net always starts once."""
    models, x, y = case
    table = convergence_table(models, x, y, eps=0.02, steps=3, eot=2, steps_grid=(1,), eot_grid=(1,), n_draws=4,
                              deterministic_restarts=2, progress=False)  # fmt: skip
    std, sto = table[table.model == "std"], table[table.model == "sto"]
    assert set(zip(std.steps, std.restarts, strict=True)) == {(1, 2), (3, 2), (12, 8)}
    assert std[std.strongest].restarts.iloc[0] == 8 and (sto.restarts == 1).all()
    assert std[std.strongest]["diff"].iloc[0] <= 0.0  # more steps and starts never find less


def test_check_converged_passes_and_fails() -> None:
    base = {"model": "m", "attack": "pgd", "eot": 1, "accuracy": 0.5, "default": False}
    ok = pd.DataFrame([{**base, "steps": 10, "diff": 0.0, "default": True, "strongest": False},
                       {**base, "steps": 40, "diff": -0.005, "strongest": True}])  # fmt: skip
    assert len(check_converged(ok)) == 1
    weak = ok.assign(diff=[0.0, -0.05])
    with pytest.raises(AssertionError, match="not converged"):
        check_converged(weak)
    aa = pd.concat([ok, pd.DataFrame([{**base, "attack": "autoattack-rand", "steps": 100, "diff": -0.03,
                                       "strongest": False}])])  # fmt: skip
    with pytest.raises(AssertionError, match="autoattack"):
        check_converged(aa)


def test_autoattack_rand_is_an_independent_point(case) -> None:
    models, x, y = case
    scores = autoattack_scores(models["std"], x, y, eps=0.1, norm="linf", n_draws=None)
    assert scores.shape == (8,) and scores.mean() <= 0.5  # an untrained net falls to APGD at eps 0.1
    with pytest.raises(ValueError, match="norm='l3'"):
        autoattack_scores(models["std"], x, y, eps=0.1, norm="l3", n_draws=None)


def test_autoattack_budget_reaches_apgd_and_keys_the_cache(case, monkeypatch) -> None:
    """A smaller budget (tiny presets) is what APGD runs, and an entry of its own; the default budget keeps the key
    every entry had before the budget was a setting."""
    import pyautoattack

    from advgeom.analysis import convergence

    models, x, y = case
    seen, keys = [], []
    real_run, real_cached = pyautoattack.AutoAttack.run_standard_evaluation, convergence.cached_scores

    def run(self, *args, **kwargs):
        seen.append((self.apgd.n_iter, self.apgd.eot_iter))
        return real_run(self, *args, **kwargs)

    monkeypatch.setattr(pyautoattack.AutoAttack, "run_standard_evaluation", run)
    monkeypatch.setattr(convergence, "cached_scores", lambda k, f: keys.append(dict(k)) or real_cached(k, f))
    autoattack_scores(models["sto"], x, y, eps=0.01, norm="linf", n_draws=2, iterations=3, draws=2)
    autoattack_scores(models["std"], x, y, eps=0.01, norm="linf", n_draws=None, iterations=3, draws=2)
    assert seen == [(3, 2), (3, 1)]  # a deterministic net: one draw
    assert keys[0]["iterations"] == 3 and keys[0]["eot"] == 2 and keys[1]["eot"] == 1
    with pytest.raises(ValueError, match="iterations=0"):
        autoattack_scores(models["std"], x, y, eps=0.01, norm="linf", n_draws=None, iterations=0)
    key_default = {}
    monkeypatch.setattr(convergence, "cached_scores", lambda k, compute: key_default.update(k) or compute())
    monkeypatch.setattr(pyautoattack.AutoAttack, "run_standard_evaluation", lambda self, x, y, **kw: [x])
    autoattack_scores(models["std"], x, y, eps=0.01, norm="linf", n_draws=None)
    assert "iterations" not in key_default and key_default["eot"] == 1


def test_check_converged_allows_one_example_when_the_subset_cannot_resolve_the_tolerance() -> None:
    base = {"model": "m", "attack": "pgd", "eot": 1, "accuracy": 0.5}
    rows = pd.DataFrame([{**base, "steps": 10, "diff": 0.0, "default": True, "strongest": False, "n": 50},
                         {**base, "steps": 40, "diff": -0.02, "default": False, "strongest": True, "n": 50}])
    assert len(check_converged(rows)) == 1  # one image of 50: the finest difference 50 images can show
    with pytest.raises(AssertionError, match="not converged"):
        check_converged(rows.assign(diff=[0.0, -0.04]))  # two images of 50
    with pytest.raises(AssertionError, match="not converged"):
        check_converged(rows.assign(n=500))  # 500 images resolve 1 point: 10 images more is too many
