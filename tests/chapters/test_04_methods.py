"""notebooks/04_methods.py ("Models and attacks") executed with its tiny preset: glued numbers, figures, re-run note."""

from __future__ import annotations

import json
import math
from pathlib import Path

import nbformat
import pytest

from advgeom.book import notebooks

ROOT = Path(__file__).resolve().parents[2]
STEM = "04_methods"


@pytest.fixture(scope="module")
def executed(chapter_run) -> nbformat.NotebookNode:
    """The tiny execution (run in the background from the start of the session: tests/conftest.py)."""
    return nbformat.read(chapter_run(STEM), as_version=4)


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
    for norm in ("linf", "l2", "l1"):  # the attacks work, even on the tiny preset's one-epoch network
        assert number(values, f"adv_standard_{norm}") < number(values, "clean_standard"), norm
    assert math.isfinite(number(values, "nx_sf_rho"))
    assert -1 <= number(values, "grad_cos") < 0.999  # a noisy network: gradients of two draws differ
    gap = number(values, "adv_vone_linf_eot1") - number(values, "adv_vone_linf")
    assert number(values, "eot_gap") == pytest.approx(gap, abs=1e-9)  # paired over the same images and draws
    assert values["eot_verdict"]["text/markdown"].startswith(("The single-draw attack", "Here the difference"))


def test_page_has_rerun_note_and_metadata(executed):
    notes = [c for c in executed.cells if "advgeom-rerun" in c.get("metadata", {}).get("tags", [])]
    assert len(notes) == 1
    assert "advgeom run 04_methods --preset tiny" in notes[0].source
    assert executed.cells.index(notes[0]) == 1  # right under the title cell
    meta = executed.metadata["advgeom"]
    assert meta["preset"] == "tiny" and meta["command"] == "advgeom run 04_methods --preset tiny"
    assert meta["parameters"] == json.loads(json.dumps(notebooks.load_presets()[STEM]["tiny"]))
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


def test_panel_checks_the_attack_chapters_01_and_03_use():
    """The panel's ``chapter_*`` defaults are the attack of chapters 01 and 03 at their defaults: if a chapter's
    attack changes, the panel must check the new one, not go on passing the old setting. (Chapter 03 also decays
    its step size, and checks that attack at its own most robust networks.)"""
    panel = notebooks.notebook_parameters(ROOT / "notebooks" / f"{STEM}.py")
    for chapter in ("01_vision_geometry", "03_tradeoff"):
        spec = notebooks.notebook_parameters(ROOT / "notebooks" / f"{chapter}.py")
        for name in ("steps", "eot", "deterministic_steps", "deterministic_restarts"):
            theirs = spec["attack_steps" if name == "steps" else name].default
            assert panel[f"chapter_{name}"].default == theirs, (chapter, name, theirs)
