"""notebooks/04_methods.py ("Models and attacks") executed with its tiny preset: glued numbers, figures, re-run note."""

from __future__ import annotations

import json
import math
from pathlib import Path

import nbformat
import pytest

from advgeom import presets, runner

ROOT = Path(__file__).resolve().parents[1]
STEM = "04_methods"


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> nbformat.NotebookNode:
    out = tmp_path_factory.mktemp("book")
    path = runner.run_notebook(ROOT / "notebooks" / f"{STEM}.py", preset="tiny", out_dir=out, progress=False)
    return nbformat.read(path, as_version=4)


def glued(nb: nbformat.NotebookNode) -> dict[str, dict]:
    """name -> the data of every myst_nb.glue output."""
    out = {}
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            name = o.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                out[name] = {k.split("/", 2)[-1]: v for k, v in o["data"].items()}
    return out


def number(values: dict[str, dict], name: str) -> float:
    return float(values[name]["text/plain"])


def test_presets_and_estimates_exist():
    assert {"tiny", "classroom"} <= set(presets.PRESETS[STEM])
    assert {"default", "tiny", "classroom"} <= set(presets.ESTIMATES[STEM])


def test_glued_numbers_and_figures(executed):
    values = glued(executed)
    for fig in ("fig_gabors", "fig_v1_distributions", "fig_noise_maps", "fig_mean_variance",
                "fig_adversarial_examples"):
        assert "image/png" in values[fig], fig
    for table in ("tbl_variants", "tbl_attacks"):
        assert "<table" in values[table]["text/html"], table
    assert number(values, "n_filters") == 64 and number(values, "n_eval") == 20
    # the perturbations respect their budgets
    for norm in ("linf", "l2", "l1"):
        eps = number(values, f"eps_{norm}")
        assert 0 < number(values, f"norm_max_{norm}") <= eps * (1 + 1e-5) + 1e-5, norm
    # Poisson-like noise: variance ~ mean (20 draws: loose bounds; the page asserts tight ones at full size)
    assert 0.5 < number(values, "fano_median") < 1.5
    assert 0.8 < number(values, "mv_slope") < 1.2
    for name in ("clean_standard", "clean_vone", "adv_standard_linf", "adv_vone_linf", "adv_vone_linf_eot1"):
        assert 0 <= number(values, name) <= 1, name
    assert math.isfinite(number(values, "nx_sf_rho"))
    assert -1 <= number(values, "grad_cos") < 0.999  # a noisy network: gradients of two draws differ
    assert number(values, "eot_gap_se") >= 0
    assert values["eot_verdict"]["text/markdown"].startswith(("The single-draw attack", "Here the difference"))


def test_page_has_rerun_note_and_metadata(executed):
    notes = [c for c in executed.cells if "advgeom-rerun" in c.get("metadata", {}).get("tags", [])]
    assert len(notes) == 1
    assert "advgeom run 04_methods --preset tiny" in notes[0].source
    assert executed.cells.index(notes[0]) == 1  # right under the title cell
    meta = executed.metadata["advgeom"]
    assert meta["preset"] == "tiny" and meta["command"] == "advgeom run 04_methods --preset tiny"
    assert meta["parameters"] == json.loads(json.dumps(presets.PRESETS[STEM]["tiny"]))
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    streams = " ".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", [])
                       if o.get("output_type") == "stream")  # fmt: skip
    assert "Warning" not in streams, streams[:500]


def test_exercises_have_hidden_solutions():
    text = (ROOT / "notebooks" / f"{STEM}.py").read_text()
    exercises = text.count("```{exercise}")
    assert exercises >= 1
    assert text.count("```{solution}") == exercises
    assert text.count(":class: dropdown") >= exercises
