"""Build a small book with the real _config.yml/_toc.yml and check it offline in headless Chromium.

The book: an intro page (equation + citations), the tiny test notebook (as notebooks/00_tiny.py, run
with a "tiny" preset by `advgeom book`: an altair chart, a glued number, a glued chart figure, display
and inline math) and the bibliography page. Screenshots land in ``<tmp repo>/_build/screenshots/``.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest

from advgeom import browser_check, cli, presets, reproduce, runner

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "data" / "99_tiny.py"
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
GLANCE = (("00_tiny", ("tiny_total",), "At a glance, the total is {tiny_total}."),)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """A throw-away repository with the real book config and the tiny notebook as its only chapter,
    built by `advgeom book` (vendor assets, execute into book/, clean jupyter-book build)."""
    root = tmp_path_factory.mktemp("repo")
    for name in ("_config.yml", "_toc.yml", "references.bib"):
        shutil.copy(ROOT / name, root / name)
    (root / "book").mkdir()
    (root / "notebooks").mkdir()
    shutil.copy(ROOT / "book" / "bibliography.md", root / "book" / "bibliography.md")
    (root / "book" / "intro.md").write_text(INTRO)
    shutil.copy(TINY, root / "notebooks" / "00_tiny.py")
    (root / "book" / "01_gone.failed.ipynb").write_text("not a notebook")  # failed copies stay out of the book
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(runner.ROOT_ENV, str(root))
        mp.setitem(presets.PRESETS, "00_tiny", {"tiny": {"n": 4}})
        mp.setattr(reproduce, "GLANCE_SENTENCES", GLANCE)
        mp.setattr(reproduce, "GLANCE_FIGURE", ("00_tiny", "tiny_chart"))
        start = time.perf_counter()
        assert cli.main(["book", "--preset", "tiny", "--quiet"]) == 0
        seconds = time.perf_counter() - start
    return {"root": root, "html": root / "_build" / "html", "seconds": seconds}


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
        mp.setenv(runner.ROOT_ENV, str(root))
        assert cli.main(["book", "--preset", "tiny", "--quiet"]) == 0
    return root / "_build" / "html"


def test_build_is_clean_and_fast(built):
    # `advgeom book` fails on any Sphinx warning; here: the pages exist and execution + build took < 1 min
    html = built["html"]
    for page in ("index.html", "book/intro.html", "book/00_tiny.html", "book/bibliography.html"):
        assert (html / page).exists(), page
    assert built["seconds"] < 60, f"advgeom book took {built['seconds']:.0f} s"
    assert (built["root"] / "_static" / "vendor" / "vega" / "vega-bundle.js").exists()
    assert not list(html.rglob("*gone*"))
    tiny = (html / "book" / "00_tiny.html").read_text()
    # glued total for n=4, scale=1.5, offsets [0, 0.5]: 2 * 1.5 * (0+1+2+3) + 4 * (0 + 0.5)
    assert re.search(r"the total is\s*(<[^>]+>\s*)*20\.0<", tiny)
    assert "Fig. 1" in tiny and "A glued chart with a caption." in tiny
    assert (html / "_sources" / "book" / "00_tiny.ipynb").exists()  # download button target
    assert "_sources/book/00_tiny.ipynb" in tiny
    # the landing page's summary is glued across documents from the executed chapter
    intro = (html / "book" / "intro.html").read_text()
    assert re.search(r"At a glance, the total is\s*(<[^>]+>\s*)*20\.00<", intro)


def test_no_cdn_in_built_html(built):
    html = built["html"]
    pages = [p for p in html.rglob("*.html") if "_static" not in p.parts]
    assert pages
    for page in pages:
        text = page.read_text()
        loads = re.findall(r"<(?:script|img|iframe)[^>]*\ssrc=\"(https?:)?//[^\"]*\"", text)
        loads += re.findall(r"<link[^>]*\shref=\"(?:https?:)?//[^\"]*\"[^>]*>", text)
        assert not loads, f"{page}: loads from the network: {loads}"
        for cdn in ("unpkg.com", "jsdelivr", "cdnjs", "googleapis", "require.js", "thebe"):
            assert cdn not in text, f"{page} mentions {cdn}"
    # only the vega bundle and the MathJax entry of the vendored files are put on pages
    tiny = (html / "book" / "00_tiny.html").read_text()
    vendored = sorted(set(re.findall(r"_static/vendor/[^\"?]+", tiny)))
    assert vendored == ["_static/vendor/mathjax/tex-mml-chtml.js", "_static/vendor/vega/vega-bundle.js"]


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
