"""Chapter 01 (vision geometry): run with the "tiny" preset; the notebook asserts its findings itself.

Models trained here (small training sets, 2 epochs) are cached for the session and reused by the
trade-off chapter's test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from chapter_checks import assert_prose_glue_complete_and_plain

from advgeom.book import execute, notebooks

STEM = "01_vision_geometry"


@pytest.fixture(scope="module")
def executed(chapter_run) -> Path:
    """The tiny execution (run in the background from the start of the session: tests/conftest.py)."""
    return chapter_run(STEM)


def test_every_glued_name_in_the_prose_exists_and_numbers_are_plain(executed: Path) -> None:
    assert_prose_glue_complete_and_plain(STEM, executed)


def test_accuracies_and_signature(executed: Path) -> None:
    v = notebooks.glued_values(executed)
    for name in ("standard", "adversarial", "vone", "vone_nonoise"):
        assert 0.3 < v[f"clean_{name}"] <= 1.0
        assert 0.0 <= v[f"linf_small_{name}"] <= v[f"clean_{name}"] + 0.02
    # deterministic nets: point manifolds at eps=0 (asserted in the notebook); the stochastic one is wide
    assert v["vone_radius_clean"] > 0.05
    assert v["std_radius_max"] > v["std_radius_small"]
    assert v["std_acc_random"] > v["std_acc_adv_max"]


def test_rerun_with_another_eps_grid_changes_the_analysis(executed: Path, tmp_path: Path) -> None:
    """A new eps grid reaches the analysis (not the cached results of the old one). Only the standard network
    and the L-inf sweep are re-run: the other networks' findings are conditional on their presence."""
    params = {"eps_grid": [0.0, 0.08, 0.15], "variants": ["standard"], "norms": ["linf"]}
    rerun = execute.run_notebook(STEM, preset="tiny", params=params, out_dir=tmp_path, progress=False)
    before, after = notebooks.glued_values(executed), notebooks.glued_values(rerun)
    assert before["small_eps"] == 0.05 and after["small_eps"] == 0.08
    assert after["eps_max"] == 0.15
    assert after["std_radius_max"] != before["std_radius_max"]
