"""The code a reader sees in a chapter fits the book's code column: every line of every visible code cell,
comments included, is at most the line length of notebooks/ruff.toml (measured in Chromium; the browser check
verifies the built pages). Cells collapsed behind a "show code" toggle (``hide-input``) count too (the toggle
shows them 75 wide); only cells removed from the page are exempt."""

from __future__ import annotations

import tomllib
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9]*.py"))
HIDDEN = {"remove-input", "remove-cell"}  # hide-input cells are shown by their toggle, 75 wide


def line_length() -> int:
    return tomllib.loads((ROOT / "notebooks" / "ruff.toml").read_text())["line-length"]


def overflowing_lines(chapter: Path, limit: int) -> list[str]:
    """The lines of the visible code cells of ``chapter`` longer than ``limit``, as ``cell i: 'line' (length)``."""
    too_long = []
    for i, cell in enumerate(jupytext.read(chapter).cells):
        if cell.cell_type != "code" or HIDDEN & set(cell.metadata.get("tags", [])):
            continue
        too_long += [f"cell {i}: {line!r} ({len(line)})" for line in cell.source.splitlines() if len(line) > limit]
    return too_long


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_visible_code_fits_the_page(chapter: Path) -> None:
    limit = line_length()
    too_long = overflowing_lines(chapter, limit)
    assert not too_long, f"{len(too_long)} code lines wider than {limit}:\n" + "\n".join(too_long[:20])


def test_long_lines_are_found_in_shown_and_collapsed_cells_not_removed_ones(tmp_path: Path) -> None:
    wide = "y = " + "1 + " * 30 + "1"
    page = tmp_path / "99_wide.py"
    cells = ["x = 1  # fits", f'# %% tags=["hide-input"]\n{wide}', f"# %%\n{wide}", f"# %% [markdown]\n# {wide}",
             f'# %% tags=["remove-input"]\n{wide}']  # fmt: skip
    page.write_text("# %%\n" + "\n\n".join(cells) + "\n")
    assert overflowing_lines(page, 74) == [f"cell {i}: {wide!r} ({len(wide)})" for i in (1, 2)]
