"""Chapter 03 (trade-off): run with the "tiny" preset; the notebook asserts its findings itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from chapter_checks import assert_prose_glue_complete_and_plain

from advgeom.book import notebooks

STEM = "03_tradeoff"


@pytest.fixture(scope="module")
def executed(chapter_run) -> Path:
    """The tiny execution (run in the background from the start of the session: tests/conftest.py)."""
    return chapter_run(STEM)


def test_every_glued_name_in_the_prose_exists_and_numbers_are_plain(executed: Path) -> None:
    assert_prose_glue_complete_and_plain(STEM, executed)


def test_tradeoff_numbers(executed: Path) -> None:
    v = notebooks.glued_values(executed)
    assert v["clean_0"] > v["clean_max"]
    assert v["adv_best"] > v["adv_0"] and v["best_noise"] > 0
    assert v["overlap_max"] > v["overlap_0"]
    assert v["capacity_max"] < v["capacity_0"]
    for accuracy in ("clean", "adversarial"):  # a fit on both measures explains at least what each one does
        both = v[f"r2_{accuracy}_both"]
        assert both >= max(v[f"r2_{accuracy}_overlap"], v[f"r2_{accuracy}_capacity"]) - 1e-9, v
