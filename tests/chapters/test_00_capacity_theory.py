"""Chapter 00 (capacity theory): execute it with the "tiny" preset and check the glued results.

The notebook asserts its own checks (theory vs solver within statistical error); this test makes sure it runs
end to end with the preset the book's CI uses and that the glued numbers the prose quotes are the right ones.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import nbformat
import pytest

from advgeom.book import execute, notebooks
from advgeom.geometry import theory


def glued(path: Path) -> dict[str, str]:
    """name -> text/plain of every ``myst_nb.glue(..., display=False)`` output of an executed notebook.

    myst-nb 1.4 stores a glued value as a display_data output with metadata ``{"scrapbook": {"name": ...,
    "mime_prefix": "application/papermill.record/"}}`` and its MIME bundle keys prefixed by ``mime_prefix``.
    """
    nb = nbformat.read(path, as_version=4)
    out: dict[str, str] = {}
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            meta = o.get("metadata", {}).get("scrapbook")
            if meta:
                prefix = meta.get("mime_prefix", "")
                assert meta["name"] not in out, f"glue name {meta['name']!r} used twice"
                out[meta["name"]] = o["data"].get(prefix + "text/plain", "")
    return out


@pytest.fixture(scope="module")
def executed(chapter_run) -> Path:
    """The tiny execution (run in the background from the start of the session: tests/conftest.py)."""
    return chapter_run("00_capacity_theory")


def test_runs_and_glues_every_name_the_prose_uses(executed: Path) -> None:
    values = glued(executed)
    source = notebooks.resolve_notebook("00_capacity_theory").read_text()
    used = set(re.findall(r"\{glue:(?:text|figure|any|md)?\}`([A-Za-z0-9_]+)", source))
    used |= set(re.findall(r"```\{glue:figure\} ([A-Za-z0-9_]+)", source))
    missing = sorted(used - set(values))
    assert not missing, f"names used in the prose but never glued: {missing}"
    for name in used:
        if not name.startswith("fig_"):
            float(values[name])  # every quoted number is a plain number (no 'np.float64(...)')


def test_gardner_point_at_zero_margin_is_two(executed: Path) -> None:
    g = glued(executed)
    cap, se = float(g["gardner_k0"]), float(g["gardner_k0_se"])
    assert 0 < se < 0.2, f"standard error {se} out of the expected range for the tiny preset"
    assert abs(cap - 2.0) <= 4 * se + float(g["gardner_bias_max"]), f"alpha(kappa=0) = {cap} +/- {se}, theory 2"


def test_segment_capacity_and_anchor_radius_match_theory(executed: Path) -> None:
    g = glued(executed)
    R = float(g["seg_R"])
    assert float(g["seg_theory"]) == pytest.approx(theory.ball_capacity(R, 1), rel=1e-12)
    cap, se = float(g["seg_mftma"]), float(g["seg_se"])
    assert se > 0 and abs(cap - theory.ball_capacity(R, 1)) <= 4 * se, f"segment R={R}: {cap} +/- {se}"
    assert float(g["seg_R_M"]) == pytest.approx(theory.ball_anchor_radius(R, 1), rel=0.03)
    assert float(g["seg_R_M"]) < R  # anchors are pulled inwards


def test_cover_and_simulated_capacity_of_points(executed: Path) -> None:
    g = glued(executed)
    alpha, se = float(g["cover_alpha_sim"]), float(g["cover_alpha_sim_se"])
    assert 0 < se < 0.2 and abs(alpha - 2.0) <= 4 * se, f"simulated capacity of points {alpha} +/- {se}"
    assert 0 <= float(g["cover_band_use"]) <= 1.0


def test_growing_clouds_lose_capacity(executed: Path) -> None:
    g = glued(executed)
    small, large = float(g["gauss_small_mftma"]), float(g["gauss_large_mftma"])
    assert float(g["gauss_small_r"]) < float(g["gauss_large_r"])
    assert small > large + 4 * math.hypot(float(g["gauss_small_mftma_se"]), float(g["gauss_large_mftma_se"]))
    assert float(g["gauss_small_R_M"]) < float(g["gauss_large_R_M"])
    for size in ("small", "large"):
        mftma, sim = float(g[f"gauss_{size}_mftma"]), float(g[f"gauss_{size}_sim"])
        err = math.hypot(float(g[f"gauss_{size}_mftma_se"]), float(g[f"gauss_{size}_sim_se"]))
        assert abs(mftma - sim) <= 4 * err + 0.05 * sim, f"{size} clouds: MFTMA {mftma} vs simulated {sim}"


def test_exercise_answers(executed: Path) -> None:
    g = glued(executed)
    assert float(g["ex_huge_limit"]) == pytest.approx(1 / 3.5)
    assert float(g["ex_huge_big"]) == pytest.approx(1 / 3.5, rel=1e-3)
    assert abs(float(g["ex_segment_mftma"]) - 1.0) <= 4 * float(g["ex_segment_se"])
    assert float(g["ex_disc_mftma"]) > 2 / 3  # polygon bias is upwards


def test_the_in_page_checks_can_fail(tmp_path: Path) -> None:
    """With a tolerance of 0.01 standard errors the page's own assertions must stop the run."""
    with pytest.raises(execute.NotebookExecutionError, match="AssertionError"):
        execute.run_notebook("00_capacity_theory", {"n_sigma": 0.01}, preset="tiny", out_dir=tmp_path, progress=False)
    assert not (tmp_path / "00_capacity_theory.ipynb").exists()
