"""advgeom.book.browser_check: every page of a built book opened offline in headless Chromium.

The small book of the ``built`` fixture (tests/book/conftest.py), a page broken on purpose, and this
repository's own book built at the chapters' tiny presets. Screenshots land in ``<repo>/_build/screenshots/``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from advgeom import cli
from advgeom.book import browser_check, notebooks

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def full_book(tmp_path_factory) -> Path:
    """This repository's own book (every notebook and page) executed at the tiny presets and built by
    `advgeom book`, in a throw-away copy so the executed chapters in book/ are left alone."""
    root = tmp_path_factory.mktemp("fullrepo")
    for name in ("_config.yml", "_toc.yml", "references.bib"):
        shutil.copy(ROOT / name, root / name)
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    (root / "book").mkdir()
    for page in (ROOT / "book").glob("*.md"):
        shutil.copy(page, root / "book" / page.name)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(notebooks.ROOT_ENV, str(root))
        assert cli.main(["book", "--preset", "tiny", "--quiet"]) == 0
    return root / "_build" / "html"


def test_every_page_works_offline_in_chromium(built):
    if not Path(browser_check.CHROMIUM).exists():
        pytest.skip("Debian chromium not installed (apt-get install chromium; see .ci/install-system.sh)")
    shots = built["root"] / "_build" / "screenshots"
    report = browser_check.check_book(built["html"], shots)
    assert report.ok, report.summary()
    assert {p.page for p in report.pages} >= {"index.html", "book/intro.html", "book/00_tiny.html",
                                              "book/bibliography.html", "search.html", "genindex.html"}
    tiny = report.page("book/00_tiny.html")
    assert tiny.charts == tiny.charts_drawn == 2  # the displayed chart and the glued figure
    assert tiny.math == tiny.math_rendered >= 2
    assert tiny.audio == tiny.audio_played == 1  # the tone decodes and plays
    intro = report.page("book/intro.html")
    assert intro.math_rendered >= 2
    assert intro.charts == intro.charts_drawn == 1  # the chart glued from the tiny chapter
    for page in report.pages:
        assert page.screenshot and Path(page.screenshot).stat().st_size > 10_000


def test_check_book_catches_broken_pages(tmp_path):
    """The check can fail: a CDN script, an undrawn chart, unrendered math, a missing file, a broken sound."""
    if not Path(browser_check.CHROMIUM).exists():
        pytest.skip("Debian chromium not installed")
    (tmp_path / "index.html").write_text(
        "<html><body>"
        '<script src="https://cdn.jsdelivr.net/npm/vega@6"></script>'
        '<script src="missing.js"></script>'
        '<div class="advgeom-chart"></div>'
        '<div class="math notranslate nohighlight">\\[x^2\\]</div>'
        "<p>$$ y $$</p>"
        '<audio controls><source src="data:audio/wav;base64,AAAAAAAA" type="audio/wav"></audio>'
        "</body></html>"
    )
    report = browser_check.check_book(tmp_path, timeout_s=3)
    page = report.page("index.html")
    assert not report.ok
    assert page.external_requests == ["https://cdn.jsdelivr.net/npm/vega@6"]
    assert any("missing.js" in f for f in page.failed_requests)
    assert (page.charts, page.charts_drawn, page.math, page.math_rendered) == (1, 0, 1, 0)
    assert any("$$" in s for s in page.raw_tex)
    assert (page.audio, page.audio_played) == (1, 0)


def test_the_real_book_works_offline_in_chromium(full_book):
    """Every page of the real book (chapters at tiny size): charts drawn, equations rendered, the hearing
    chapter's sounds play, nothing fetched from the network. Screenshots go to <repo>/_build/screenshots/
    (CI artifacts)."""
    if not Path(browser_check.CHROMIUM).exists():
        pytest.skip("Debian chromium not installed (apt-get install chromium; see .ci/install-system.sh)")
    report = browser_check.check_book(full_book, ROOT / "_build" / "screenshots")
    assert report.ok, report.summary()
    chapters = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
    for chapter in chapters:
        page = report.page(f"book/{chapter}.html")
        assert page.screenshot and Path(page.screenshot).stat().st_size > 10_000
    for name in ("intro", "reproducing", "parameters", "instructors", "scaling", "bibliography"):
        report.page(f"book/{name}.html")
    assert sum(p.charts for p in report.pages) >= 2 * len(chapters)
    hearing = report.page("book/02_auditory_generalization.html")
    assert hearing.audio == hearing.audio_played == 3  # clean, adversarial, perturbation
