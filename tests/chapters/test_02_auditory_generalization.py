"""Chapter 02 (auditory generalisation): run with the "tiny" preset and check its glued results.

At tiny size (4 words, 12 training clips per word, 2 epochs) the networks barely learn, so the preset
sets ``check_findings=False``: the notebook then skips the findings that need trained networks
(stochastic more robust than deterministic, adversarial training helps, untangling, overlap) but
still asserts the structural facts in-notebook: deterministic clean exemplar manifolds are points at
every layer, the auditory-nerve noise gives the stochastic network's clean exemplar manifolds extent
from the nerve on (and not at the waveform), and accuracy never rises with the attack budget.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from chapter_checks import assert_prose_glue_complete_and_plain

from advgeom.book import notebooks

STEM = "02_auditory_generalization"


@pytest.fixture(scope="module")
def executed(chapter_run) -> Path:
    """The tiny execution (run in the background from the start of the session: tests/conftest.py)."""
    return chapter_run(STEM)


def test_every_glued_name_in_the_prose_exists_and_numbers_are_plain(executed: Path) -> None:
    assert_prose_glue_complete_and_plain(STEM, executed)


def test_accuracies_budgets_and_signature(executed: Path) -> None:
    v = notebooks.glued_values(executed)
    tiny = notebooks.load_presets()[STEM]["tiny"]
    assert v["n_words"] == len(tiny["words"]) and v["chance"] == pytest.approx(1 / len(tiny["words"]))
    assert v["n_train_clips"] == tiny["n_train"] * len(tiny["words"])
    for kind in ("deterministic", "stochastic", "adversarial"):
        assert 0.0 <= v[f"clean_{kind}"] <= 1.0
        for norm in ("l2", "linf"):
            slack = 0.1 if kind == "stochastic" else 1e-9  # scoring noise of the stochastic network
            assert v[f"acc_{norm}_small_{kind}"] <= v[f"clean_{kind}"] + slack
    # budgets as signal-to-noise ratios of the clip to the perturbation
    assert v["small_snr_l2"] == pytest.approx(20 * math.log10(v["clip_l2"] / v["small_eps_l2"]))
    assert v["small_snr_linf"] == pytest.approx(20 * math.log10(v["clip_rms"] / v["small_eps_linf"]))
    # the attack we listen to stays within its L2 budget (all clips have the same level)
    assert v["listen_snr"] >= 20 * math.log10(v["clip_l2"] / v["listen_eps"]) - 0.05
    # structural signature (also asserted in the notebook): noise gives clean exemplar manifolds extent
    assert v["sto_nerve_radius"] > 0.05 and v["sto_nerve_capacity"] < 1.95
    # train on synthetic / test on real: the two recorded digits of the tiny vocabulary are scored
    assert v["real_n"] == 2 and 0.0 <= v["real_correct_deterministic"] <= 2
