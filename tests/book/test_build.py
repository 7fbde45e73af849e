"""advgeom.book.build: `advgeom book` (execute, then a jupyter-book build that fails on any warning).

The small book of the ``built`` fixture (tests/book/conftest.py): an intro page (equation + citations +
the landing page's summary), the tiny test notebook (as notebooks/00_tiny.py, run with its "tiny" preset:
an altair chart, a glued number, a glued chart figure, display and inline math, a cell with its source hidden,
two published tables) and the bibliography page; the Explorer page is generated from those tables.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from advgeom import cli
from advgeom.book import build, notebooks

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "fixtures" / "99_tiny.py"
CHAPTERS = notebooks.list_notebooks(ROOT / "notebooks")


@pytest.fixture
def fake_repo(tmp_path, monkeypatch):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "book").mkdir()
    (tmp_path / "notebooks" / "01_tiny.py").write_text(TINY.read_text())
    monkeypatch.setenv(notebooks.ROOT_ENV, str(tmp_path))
    return tmp_path


def test_book_allow_missing_builds_without_unexecuted_chapters(fake_repo, monkeypatch, capsys):
    built = []
    monkeypatch.setattr(build, "build_book", lambda root, echo=True: built.append(root) or root / "_build" / "html")
    assert cli.main(["book", "--skip-execute", "--quiet"]) == cli.EXIT_USER_ERROR
    assert "--allow-missing" in capsys.readouterr().err and not built
    assert cli.main(["book", "--skip-execute", "--allow-missing"]) == 0
    assert "no executed notebook for 01_tiny: left out" in capsys.readouterr().out and built


def test_book_ends_with_where_the_time_went(fake_repo, monkeypatch, capsys):
    """One row per chapter run (total, training, attacks, geometry, other), the build's row and a total row; printed
    also when the build fails."""
    monkeypatch.setattr(build, "build_book", lambda root, echo=True: root / "_build" / "html")
    build.make_book(vendor=False, progress=False)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "[advgeom] where the time went (seconds):"
    assert lines[1].split()[:3] == ["chapter", "total", "s"] and "geometry s" in lines[1]
    chapter = lines[2].split()
    assert chapter[0] == "01_tiny" and float(chapter[1]) > 0 and chapter[2:5] == ["0.0", "0.0", "0.0"]  # nothing timed
    assert float(chapter[5]) == float(chapter[1])  # all of it is "other"
    assert lines[3].split()[:3] == ["jupyter-book", "build", "0.0"] and lines[4].split()[0] == "all"

    def fail(root, echo=True):
        raise build.BookBuildError("broken")

    monkeypatch.setattr(build, "build_book", fail)
    with pytest.raises(build.BookBuildError):
        build.make_book(vendor=False, progress=False, skip_execute=True)
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()[2:]] == ["jupyter-book", "all"]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_prose_has_no_api_cross_references(chapter):
    """The book has no API reference pages, so {func}/{mod}/... roles would be unresolved (a -n build error)."""
    roles = re.findall(r"\{(?:py:)?(?:func|mod|data|class|meth|attr|obj)\}`[^`]+`", chapter.read_text())
    assert not roles, f"{chapter.name}: use plain code literals instead of {roles}"


@pytest.mark.slow
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
    # the tables it publishes: a CSV download under the chapter's code, and the Explorer page
    assert 'download="00_tiny-accuracy.csv" href="data:text/csv;base64,' in tiny
    assert 'download="00_tiny-geometry.csv"' in tiny
    explorer = (html / "book" / "explorer.html").read_text()
    assert "advgeom-chart" in explorer and 'download="00_tiny-geometry.csv"' in explorer
    assert 'href="explorer.html"' in (html / "book" / "parameters.html").read_text()  # in the table of contents
    # the landing page's summary is glued across documents from the executed chapter
    intro = (html / "book" / "intro.html").read_text()
    assert re.search(r"At a glance, the total is\s*(<[^>]+>\s*)*20\.00<", intro)


@pytest.mark.slow
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
