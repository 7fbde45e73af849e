"""Is the attack behind a robustness number converged? Accuracy against attack steps, EOT draws and AutoAttack.

A robustness claim is only as good as the attack behind it (Carlini et al. 2019, "On evaluating
adversarial robustness"; Athalye, Carlini & Wagner 2018): more PGD steps, more noise draws per step
(EOT) or a different, parameter-free attack (AutoAttack, Croce & Hein 2020; its ``rand`` version for
stochastic defences: APGD-CE and APGD-DLR, 100 iterations, 20 EOT draws) must not lower the accuracy
further. :func:`convergence_table` measures robust accuracy on the same examples, scored over the same
fresh noise draws, for a grid of steps (at the default draws) and draws (at the default steps), the
strongest setting (4x steps and 4x draws) and, optionally, AutoAttack; every number comes with a t
interval over the examples and a paired interval of its difference to the default.
:func:`check_converged` asserts that the default is within ``tolerance`` of the strongest setting.

Per-example scores (the fraction of scoring draws that classify an attacked example correctly) share
the cache of :func:`advgeom.analysis.accuracy.pgd_scores`: the default setting measured here is the one
a chapter's accuracy sweep already computed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from advgeom.analysis.accuracy import cached_scores, pgd_scores
from advgeom.analysis.protocol import DEFAULT_BOUNDS, attack_restarts_for, attack_steps_for
from advgeom.analysis.uncertainty import paired_interval, t_interval
from advgeom.attacks import Bounds, example_scores
from advgeom.checks import check_float, check_int
from advgeom.fingerprint import model_fingerprint, tensor_digest
from advgeom.models import is_stochastic

AUTOATTACK_ITERATIONS, AUTOATTACK_DRAWS = 100, 20  # AutoAttack's rand version (Croce & Hein 2020)


def autoattack_scores(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float,
    norm: str,
    n_draws: int | None,
    seed: int = 0,
    iterations: int = AUTOATTACK_ITERATIONS,
    draws: int = AUTOATTACK_DRAWS,
) -> np.ndarray:
    """Per-example scores under AutoAttack's ``rand`` version (APGD-CE + APGD-DLR, ``iterations`` (its own: 100)
    with ``draws`` EOT draws (its own: 20); ``pyautoattack``), images in [0, 1]. A deterministic model gets the
    same attacks with one draw (its draws would be identical). The attacked examples are scored like every other
    attack here, over fresh draws."""
    from pyautoattack import AutoAttack

    names = {"linf": "Linf", "l2": "L2", "l1": "L1"}
    if norm not in names:
        raise ValueError(f"norm={norm!r} is not allowed for AutoAttack; choose one of {list(names)}")
    eps = check_float("eps", eps, minimum=0.0)
    iterations = check_int("iterations", iterations, minimum=1)
    draws = check_int("draws", draws, minimum=1)
    stochastic = is_stochastic(model)

    def compute() -> np.ndarray:
        attack = AutoAttack(model, norm=names[norm], eps=eps, version="rand", seed=seed, device=str(x.device))
        attack.logger.disabled = True
        attack.apgd.n_iter, attack.apgd.eot_iter = iterations, draws if stochastic else 1
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            x_adv = attack.run_standard_evaluation(x, y, batch_size=len(x))[0]
        return example_scores(model, x_adv, y, n_draws=n_draws, seed=seed)

    key = {"attack": "autoattack-rand", "model": model_fingerprint(model), "inputs": tensor_digest(x, y),
           "eps": eps, "norm": norm, "n_draws": n_draws, "seed": seed, "eot": draws if stochastic else 1}  # fmt: skip
    if iterations != AUTOATTACK_ITERATIONS:  # the key every entry had before the budget was a setting
        key["iterations"] = iterations
    return cached_scores(key, compute)


def attack_setting(
    model: nn.Module,
    *,
    steps: int,
    eot: int,
    deterministic_steps: int | None = None,
    deterministic_restarts: int = 1,
    stronger: int = 1,
) -> tuple[int, int, int]:
    """(steps, draws, restarts) of a chapter's attack on ``model`` (``stronger=1``) or of ``stronger`` times it:
    a stochastic model's steps and draws (one start), a deterministic model's steps
    (:func:`~advgeom.analysis.protocol.attack_steps_for`) and starts
    (:func:`~advgeom.analysis.protocol.attack_restarts_for`, one draw). ``stronger=4`` is the strongest setting
    of :func:`convergence_table`."""
    stronger = check_int("stronger", stronger, minimum=1)
    steps = attack_steps_for(model, steps, deterministic_steps) * stronger
    if is_stochastic(model):
        return steps, eot * stronger, 1
    return steps, 1, attack_restarts_for(model, deterministic_restarts) * stronger


def setting_scores(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int,
    eot: int,
    deterministic_steps: int | None = None,
    deterministic_restarts: int = 1,
    stronger: int = 1,
    **attack: Any,
) -> np.ndarray:
    """Per-example scores of ``model`` under a chapter's attack (``stronger=1``) or ``stronger`` times it: PGD
    (:func:`~advgeom.analysis.accuracy.pgd_scores`, cached) at the :func:`attack_setting` of ``steps``, ``eot``,
    ``deterministic_steps`` and ``deterministic_restarts``. ``attack`` holds the rest of ``pgd_scores``'s
    arguments (``eps``, ``norm``, ``n_draws``, ``seed``, ``bounds``, ``schedule``). The default and strongest
    settings are the scores :func:`convergence_table` compares, read from the same cache."""
    s, e, r = attack_setting(model, steps=steps, eot=eot, deterministic_steps=deterministic_steps,
                             deterministic_restarts=deterministic_restarts, stronger=stronger)  # fmt: skip
    return pgd_scores(model, x, y, steps=s, eot=e, deterministic_restarts=r, **attack)


def convergence_table(
    models: Mapping[str, nn.Module],
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float,
    norm: str = "linf",
    steps: int,
    eot: int,
    steps_grid: Sequence[int] = (1, 3, 10, 30),
    eot_grid: Sequence[int] = (1, 4, 16),
    n_draws: int | None = None,
    deterministic_steps: int | None = None,
    deterministic_restarts: int = 1,
    schedule: str = "constant",
    autoattack: bool = False,
    autoattack_iterations: int = AUTOATTACK_ITERATIONS,
    autoattack_draws: int = AUTOATTACK_DRAWS,
    seed: int = 0,
    bounds: Bounds = DEFAULT_BOUNDS,
    progress: bool = True,
) -> pd.DataFrame:
    """Robust accuracy of each model against attack strength, on the same examples and scoring draws.

    Rows (columns ``model``, ``attack``, ``steps``, ``eot``, ``restarts``, ``accuracy``, ``lo``, ``hi``, ``n``,
    ``diff``, ``diff_lo``, ``diff_hi``, ``default``, ``strongest``): PGD at every ``steps_grid`` value with the
    default ``eot``; for a stochastic model also every ``eot_grid`` value at the default ``steps``; the
    default (``steps``, ``eot``) and the strongest setting (``4 * steps``, ``4 * eot``); AutoAttack-rand
    when ``autoattack`` (:func:`autoattack_scores`, ``autoattack_iterations`` x ``autoattack_draws``). ``diff``
    is accuracy minus the default's (paired over examples; negative: the
    stronger attack finds more). Deterministic models are attacked with one draw whatever ``eot`` says, with
    ``deterministic_steps`` as their default steps when given
    (:func:`~advgeom.analysis.protocol.attack_steps_for`) and ``deterministic_restarts`` random starts per loss
    (:func:`~advgeom.analysis.protocol.attack_restarts_for`): their strongest setting is four times both, as
    a stochastic model's is four times its steps and draws. Every PGD setting uses the step-size ``schedule``
    (:func:`advgeom.attacks.schedule_factor`).
    """
    from tqdm import tqdm

    rows: list[dict[str, Any]] = []
    chosen = {"steps": steps, "eot": eot, "deterministic_steps": deterministic_steps,
              "deterministic_restarts": deterministic_restarts}  # fmt: skip
    for name, model in tqdm(models.items(), desc="attack convergence", disable=not progress):
        stochastic = is_stochastic(model)
        default = attack_setting(model, **chosen)
        strongest = attack_setting(model, **chosen, stronger=4)
        settings = {(s, *default[1:]) for s in steps_grid} | {default, strongest}
        if stochastic:
            settings |= {(steps, e, 1) for e in eot_grid}
        scores = {
            (s, e, r): pgd_scores(model, x, y, eps=eps, norm=norm, steps=s, eot=e, n_draws=n_draws, seed=seed,
                                  bounds=bounds, deterministic_restarts=r, schedule=schedule)
            for s, e, r in sorted(settings)
        }  # fmt: skip
        attacks = [("pgd", *setting, v) for setting, v in scores.items()]
        if autoattack:  # APGD's own restarts: one per attack in the rand version
            aa_draws = autoattack_draws if stochastic else 1
            attacks.append(("autoattack-rand", autoattack_iterations, aa_draws, 1,
                            autoattack_scores(model, x, y, eps=eps, norm=norm, n_draws=n_draws, seed=seed,
                                              iterations=autoattack_iterations, draws=autoattack_draws)))
        reference = scores[default]
        for attack, s, e, r, values in attacks:
            acc, diff = t_interval(values), paired_interval(values, reference)
            rows.append({
                "model": name, "attack": attack, "steps": s, "eot": e, "restarts": r, "accuracy": acc.value,
                "lo": acc.lo, "hi": acc.hi, "n": len(values), "diff": diff.value, "diff_lo": diff.lo,
                "diff_hi": diff.hi, "default": attack == "pgd" and (s, e, r) == default,
                "strongest": attack == "pgd" and (s, e, r) == strongest,
            })  # fmt: skip
    return pd.DataFrame(rows)


def check_converged(table: pd.DataFrame, tolerance: float = 0.01) -> pd.DataFrame:
    """Assert that, for every model, the strongest PGD setting (and AutoAttack, when measured) lowers accuracy by
    at most ``tolerance`` below the default (point estimates of the paired difference), or by one example when
    the table's ``n`` examples cannot resolve ``tolerance`` (one image of 50 is 2 points). Returns the rows
    checked."""
    checked = table[table.strongest | (table.attack != "pgd")]
    allowed = np.maximum(tolerance, 1.0 / checked["n"]) if "n" in checked else tolerance
    too_weak = checked[checked["diff"] < -allowed - 1e-12]
    assert too_weak.empty, (
        f"the default attack is not converged to within {tolerance:.0%} (or one example): stronger attacks find"
        " more\n"
        f"{too_weak.filter(['model', 'attack', 'steps', 'eot', 'restarts', 'accuracy', 'diff'])}"
    )
    return checked
