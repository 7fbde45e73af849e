"""advgeom.book.browser_check: every page of a built book opened offline in headless Chromium.

The small book of the ``built`` fixture (tests/book/conftest.py) and a page broken on purpose. This
repository's own book, every chapter executed at its tiny preset, takes minutes: it is checked the same way
by benchmarks/real_book.py (``make check-book``, run by CI after the suite).
"""

from __future__ import annotations

import html
import re
import shutil
import tomllib
from pathlib import Path

import nbformat
import pytest

from advgeom.book import browser_check

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]


# the pages of the ``built`` book; each is checked in a test of its own (one Chromium each: about 3 s a page
# alone, so a test stays short when other processes share the cores; the whole book at once took 81 s there)
PAGES = ("book/00_tiny.html", "book/bibliography.html", "book/explorer.html", "book/intro.html",
         "book/parameters.html", "genindex.html", "index.html", "search.html")  # fmt: skip


def _check_tiny(built, tiny) -> None:
    assert tiny.charts == tiny.charts_drawn == 2  # the displayed chart and the glued figure
    assert tiny.math == tiny.math_rendered >= 2
    assert tiny.audio == tiny.audio_played == 1  # the tone decodes and plays
    executed = nbformat.read(built["root"] / "book" / "00_tiny.ipynb", as_version=4)
    hidden = [c for c in executed.cells if "hide-input" in c.metadata.get("tags", [])]
    # the hidden cell and the parameters cell(s) the runner collapses: each collapsed, shown by its toggle
    assert len(hidden) >= 2 and tiny.hidden_inputs == len(hidden) and not tiny.hidden_problems
    assert tiny.code_blocks >= 6 and not tiny.wide_code  # 74-character lines fit, hidden cell included


def _check_intro(built, intro) -> None:
    assert intro.math_rendered >= 2
    assert intro.charts == intro.charts_drawn == 1  # the chart glued from the tiny chapter


def _check_explorer(built, explorer) -> None:
    assert explorer.charts == explorer.charts_drawn == 1  # the tiny chapter's two tables, linked
    assert explorer.bound_inputs == 2 and not explorer.dead_inputs  # the eps slider, the measure drop-down


PAGE_CHECKS = {"book/00_tiny.html": _check_tiny, "book/intro.html": _check_intro,
               "book/explorer.html": _check_explorer}  # fmt: skip


def test_the_built_book_has_the_pages_checked(built):
    assert browser_check.book_pages(built["html"]) == sorted(PAGES)


@pytest.mark.parametrize("name", PAGES)
def test_every_page_works_offline_in_chromium(built, name):
    if not Path(browser_check.CHROMIUM).exists():
        pytest.skip("Debian chromium not installed (apt-get install chromium; see .ci/install-system.sh)")
    report = browser_check.check_book(built["html"], built["root"] / "_build" / "screenshots", pages=[name])
    assert report.ok, report.summary()
    page = report.page(name)
    assert page.screenshot and Path(page.screenshot).stat().st_size > 10_000
    if name in PAGE_CHECKS:
        PAGE_CHECKS[name](built, page)


def test_check_book_catches_broken_pages(tmp_path):
    """The check can fail: a CDN script, an undrawn chart, unrendered math, a missing file, a broken sound,
    a code line wider than its box, hidden code cells shown or without a toggle, a bound input that does
    nothing."""
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
        '<div class="cell_input"><div class="highlight"><pre style="width: 300px; overflow: auto">'
        "y = 2\nx = 1  # " + "a long line " * 20 + "\nz = 3</pre></div></div>"
        '<div class="cell tag_hide-input"><div class="cell_input"><pre>shown = 1</pre></div></div>'
        '<div class="cell tag_hide-input"><div class="cell_input" style="display: none"><pre>no_toggle = 1</pre>'
        "</div></div>"
        '<div class="vega-embed"><svg><rect width="5" height="5"></rect></svg><div class="vega-bindings">'
        '<label class="vega-bind"><span class="vega-bind-name">k</span>'
        "<select><option>a</option><option>b</option></select></label></div></div>"
        "</body></html>"
    )
    report = browser_check.check_book(tmp_path, timeout_s=3)
    page = report.page("index.html")
    assert not report.ok
    assert page.external_requests == ["https://cdn.jsdelivr.net/npm/vega@6"]
    assert any("missing.js" in f for f in page.failed_requests)
    assert (page.charts, page.charts_drawn, page.math, page.math_rendered) == (2, 1, 1, 0)
    assert any("$$" in s for s in page.raw_tex)
    assert (page.audio, page.audio_played) == (1, 0)
    assert page.code_blocks == 3 and page.wide_code == [("x = 1  # " + "a long line " * 20)[:160]]
    assert page.hidden_inputs == 2
    assert page.hidden_problems == ["not collapsed: shown = 1", 'has no "show code" toggle: no_toggle = 1']
    assert page.bound_inputs == 1 and page.dead_inputs == ["k"]  # a drop-down that changes nothing
    problems = "\n".join(report.problems())
    for words in ("code wider than its box: 'x = 1  # a long line", "hidden code cell not collapsed",
                  "bound input 'k' does not change its chart"):
        assert words in problems, words


def test_the_chapters_line_length_is_what_fits(built):
    """notebooks/ruff.toml's line length is the longest line of the tiny chapter's hidden cell (the narrowest
    code box), so the browser check of the tiny book shows that it fits."""
    length = tomllib.loads((ROOT / "notebooks" / "ruff.toml").read_text())["line-length"]
    hidden = [c for c in nbformat.read(built["root"] / "book" / "00_tiny.ipynb", as_version=4).cells
              if "hide-input" in c.metadata.get("tags", [])
              and not {"parameters", "injected-parameters"} & set(c.metadata["tags"])]  # fmt: skip
    assert len(hidden) == 1 and max(map(len, hidden[0].source.splitlines())) == length == 74
    assert tomllib.loads((ROOT / "tests" / "fixtures" / "ruff.toml").read_text())["extend"].endswith(
        "notebooks/ruff.toml")  # the tiny chapter is linted as a chapter


def test_a_line_too_long_for_the_theme_fails(built, tmp_path):
    """The real theme's code box: one character more than the hidden cell holds makes it overflow."""
    if not Path(browser_check.CHROMIUM).exists():
        pytest.skip("Debian chromium not installed")
    site = tmp_path / "html"
    shutil.copytree(built["html"], site, ignore=shutil.ignore_patterns("_static"))
    (site / "_static").symlink_to(built["html"] / "_static")
    page = site / "book" / "00_tiny.html"
    text = page.read_text()
    line = re.search(r"# Hidden in the book[^\n<]*", text).group(0)
    longer = line.replace("# Hidden", "# (Hidden", 1).replace("toggle.", "toggle).", 1)
    assert len(html.unescape(longer)) == 76
    page.write_text(text.replace(line, longer))
    report = browser_check.check_book(site, pages=["book/00_tiny.html"])
    (wide,) = report.page("book/00_tiny.html").wide_code
    assert wide.startswith("# (Hidden in the book") and not report.ok


def test_a_click_on_the_accuracy_curve_picks_eps_for_the_geometry(built):
    """Linked views on the Explorer: clicking the point at eps = 0.5 moves the eps slider there and redraws
    the geometry panel."""
    if not Path(browser_check.CHROMIUM).exists():
        pytest.skip("Debian chromium not installed")
    from playwright.sync_api import sync_playwright

    with browser_check.serve(built["html"]) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=browser_check.CHROMIUM, args=list(browser_check.CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(base + "book/explorer.html", wait_until="networkidle")
            page.wait_for_selector(".vega-embed svg.marks")
            slider = page.locator(".vega-bindings input[type=range]")
            before = page.locator(".vega-embed svg.marks").inner_html()
            assert slider.input_value() == "1"  # starts at the largest eps
            point = 'svg.marks [aria-roledescription="point"][aria-label^="eps: 0.5;"]'
            page.locator(point).first.click(force=True)
            page.wait_for_function(
                "() => document.querySelector('.vega-bindings input[type=range]').value === '0.5'", timeout=10_000
            )
            assert page.locator(".vega-embed svg.marks").inner_html() != before
        finally:
            browser.close()
