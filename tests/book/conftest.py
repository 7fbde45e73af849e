"""Shared fixtures of the advgeom.book tests: a small book built by `advgeom book` (tests/book/test_build.py
checks the build, tests/book/test_browser_check.py opens it in Chromium)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from advgeom import cli
from advgeom.book import notebooks

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "fixtures" / "99_tiny.py"
INTRO = """\
# Test book

An equation {cite:p}`chung2018classification`:

$$
\\alpha_0(0) = 2
$$

and inline $R^2 = \\langle \\lVert s \\rVert^2 \\rangle$.

```{include} _generated/glance.md
```
"""
PRESETS = """\
[00_tiny.presets.tiny]
n = 4
"""
GLANCE = """\
sentences:
  - {chapter: '00_tiny', keys: [tiny_total], sentence: 'At a glance, the total is {tiny_total}.'}
figure: {chapter: '00_tiny', key: tiny_chart}
caption: A tiny glued chart.
"""


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> dict:
    """A throw-away repository with the real book config and the tiny notebook as its only chapter (with a
    "tiny" preset and a landing-page sentence in its own notebooks/presets.toml and notebooks/glance.yml),
    built by `advgeom book` (vendor assets, execute into book/, clean jupyter-book build)."""
    root = tmp_path_factory.mktemp("repo")
    for name in ("_config.yml", "_toc.yml", "references.bib"):
        shutil.copy(ROOT / name, root / name)
    (root / "book").mkdir()
    (root / "notebooks").mkdir()
    shutil.copy(ROOT / "book" / "bibliography.md", root / "book" / "bibliography.md")
    (root / "book" / "intro.md").write_text(INTRO)
    shutil.copy(TINY, root / "notebooks" / "00_tiny.py")
    (root / "notebooks" / notebooks.PRESETS_FILE).write_text(PRESETS)
    (root / "notebooks" / notebooks.GLANCE_FILE).write_text(GLANCE)
    (root / "book" / "01_gone.failed.ipynb").write_text("not a notebook")  # failed copies stay out of the book
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(notebooks.ROOT_ENV, str(root))
        start = time.perf_counter()
        assert cli.main(["book", "--preset", "tiny", "--quiet"]) == 0
        seconds = time.perf_counter() - start
    return {"root": root, "html": root / "_build" / "html", "seconds": seconds}
