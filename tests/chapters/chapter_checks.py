"""Checks shared by the chapter smoke tests (tests/test_notebook_*.py)."""

from __future__ import annotations

from pathlib import Path

from advgeom.book import notebooks


def assert_prose_glue_complete_and_plain(stem: str, executed: Path) -> None:
    """Every name the chapter's prose pastes was glued, and every glued value but the figures (``fig_*``)
    is a plain number, as ``{glue:text}`` formats (``:.3f``) and the landing page's summary need."""
    values = notebooks.glued_values(executed)
    missing = sorted(notebooks.glue_names_in_prose(stem) - set(values))
    assert not missing, f"names used in the prose but never glued: {missing}"
    numbers = {k: v for k, v in values.items() if not k.startswith("fig_")}
    not_plain = {k: v for k, v in numbers.items() if not isinstance(v, (int, float))}
    assert not not_plain, f"glued values must be plain numbers for {{glue:text}} formatting: {not_plain}"
