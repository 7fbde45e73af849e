"""advgeom.book.pages: the generated parameters page, the landing page's summary, the Explorer and the table
of contents of existing pages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from advgeom.book import charts, execute, notebooks, pages

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "fixtures" / "99_tiny.py"
CHAPTERS = notebooks.list_notebooks(ROOT / "notebooks")

FAKE_PRESETS = """\
[01_tiny.presets.tiny]
n = 2
label = "a b"

[01_tiny.presets.classroom]

[01_tiny.estimates]
default = "~1 s"
classroom = "~2 s"
"""


@pytest.fixture
def fake_repo(tmp_path, monkeypatch):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "book").mkdir()
    (tmp_path / "notebooks" / "01_tiny.py").write_text(TINY.read_text())
    (tmp_path / "notebooks" / notebooks.PRESETS_FILE).write_text(FAKE_PRESETS)
    monkeypatch.setenv(notebooks.ROOT_ENV, str(tmp_path))
    return tmp_path


def test_parameters_page_is_generated_from_the_code(fake_repo):
    execute.run_notebook("01_tiny", preset="tiny", progress=False)
    page = pages.write_parameters_page(fake_repo).read_text()
    assert page.startswith("# Parameters")
    assert "the presets in `notebooks/presets.toml`" in page
    assert "## A tiny test chapter" in page
    for row in ("| `n` | int | `3` | number of points |", "| `offsets` | list[float] | `[0.0, 0.5]` |",
                "| `classroom` | none | ~2 s |", "| (defaults) | none | ~1 s | `advgeom run 01_tiny` |"):
        assert row in page, row
    assert "`n=2`, `label='a b'`" in page
    assert re.search(r"computed in \d+ s with `advgeom run 01_tiny --preset tiny`", page)
    assert "| `tiny` | `n=2`, `label='a b'` | not estimated |" in page


def test_parameters_page_shows_the_allowed_values(tmp_path):
    page = pages.parameters_page(CHAPTERS, tmp_path)
    assert "| parameter | type | default | description | allowed |" in page
    n_t = "| `n_t` | int | `200` | Gaussian samples t per manifold in the mean-field (MFTMA) solver | `in [1, 5000]` |"
    assert n_t in page
    assert "| `eps_grid` | list[float] | `[0.0, 0.03, 0.1]` |" in page
    assert "| `each in [0, 1]`; `length [1, 12]` |" in page
    assert "| `norm` | str | `'linf'` | attack norm | `one of linf, l2, l1` |" in page
    assert "| `check_findings` | bool | `True` |" in page and "| `True`, `False` |" in page
    tiny = pages.parameters_page([TINY], tmp_path)
    assert "| `n` | int | `3` | number of points | any |" in tiny  # nothing declared


def test_effective_toc_drops_missing_pages(tmp_path):
    for name in ("book/intro.md", "book/00_a.ipynb", "book/01_b.ipynb", "book/07_late.ipynb", "book/guide.md",
                 "book/02_c.failed.ipynb", "book/.02_c.123.abc.running.ipynb"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    toc["parts"][-1]["chapters"].insert(0, {"file": "book/guide"})
    new, dropped = pages.effective_toc(toc, tmp_path)
    parts = {p["caption"]: p["chapters"] for p in new["parts"]}
    assert parts["Foundations"] == [{"glob": "book/00_*"}]
    # 01 is taken by its own glob, 07 by the catch-all; 02 exists only as failed/running copies
    assert parts["Findings"] == [{"glob": "book/01_*"}, {"glob": "book/[0-9][0-9]_*"}]
    assert parts["Using the book"] == [{"file": "book/guide"}]
    assert "glob: book/02_*" in dropped and "file: book/parameters" in dropped
    (tmp_path / "book" / "07_late.ipynb").unlink()
    new, dropped = pages.effective_toc(toc, tmp_path)
    assert "glob: book/[0-9][0-9]_*" in dropped  # everything it matched was taken by earlier globs


def test_toc_lists_every_chapter_and_page():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    globs = [e["glob"] for p in toc["parts"] for e in p["chapters"] if "glob" in e]
    files = [e["file"] for p in toc["parts"] for e in p["chapters"] if "file" in e]
    for path in CHAPTERS:  # each chapter has its own place, not only the catch-all
        assert any(re.fullmatch(g.replace("*", ".*"), f"book/{path.stem}") for g in globs[:-1]), path.stem
    generated = {pages.PARAMETERS_PAGE[:-3], pages.EXPLORER_PAGE[:-3]}
    for page in files:
        assert page in generated or (ROOT / f"{page}.md").exists(), page
    using = next(p["chapters"] for p in toc["parts"] if p["caption"] == "Using the book")
    assert {"file": pages.EXPLORER_PAGE[:-3]} in using


def _executed_with_glue(path: Path, values: dict) -> None:
    """A minimal executed notebook whose outputs carry myst_nb glue records for ``values``."""
    outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={"application/papermill.record/text/plain": repr(v)},
            metadata={"scrapbook": {"name": k, "mime_prefix": "application/papermill.record/"}},
        )
        for k, v in values.items()
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("glue()", outputs=outputs)])
    nbformat.write(nb, path)


GLANCE = """\
sentences:
  - {chapter: '01_a', keys: [x, y], sentence: 'A: {x} then {y}.'}
  - {chapter: '01_a', keys: [z], sentence: 'Z: {z}.'}  # key never glued: sentence left out
  - {chapter: '02_b', keys: [w], sentence: 'B: {w}.'}  # chapter not executed: named with its command
  - {chapter: '01_a', keys: [n], sentence: 'N: {n}.'}  # a plain key: number format g
figure: {chapter: '01_a', key: fig}
caption: The caption.
plain_keys: [n]
"""


def test_glance_page_glues_only_what_was_computed(tmp_path):
    (tmp_path / "glance.yml").write_text(GLANCE)
    glance = notebooks.load_glance(tmp_path)
    _executed_with_glue(tmp_path / "01_a.ipynb", {"x": 0.5, "y": 1.25, "n": 3})
    page = pages.glance_page(tmp_path, glance)
    assert "A: {glue:text}`01_a.ipynb::x:.2f` then {glue:text}`01_a.ipynb::y:.2f`." in page
    assert "N: {glue:text}`01_a.ipynb::n:g`." in page
    assert "Z:" not in page and "B:" not in page and "{glue}" not in page
    assert "`advgeom run 02_b`" in page and "`advgeom run 01_a`" not in page
    _executed_with_glue(tmp_path / "01_a.ipynb", {"x": 0.5, "y": 1.25, "fig": "<chart>"})
    page = pages.glance_page(tmp_path, glance)
    assert "```{glue} fig\n:doc: 01_a.ipynb\n```" in page
    assert "*The caption.* ({doc}`details <01_a>`)" in page


def test_glance_page_is_written_from_the_repositorys_glance_file(fake_repo):
    (fake_repo / "notebooks" / "glance.yml").write_text(GLANCE)
    _executed_with_glue(fake_repo / "book" / "01_a.ipynb", {"x": 0.5, "y": 1.25})
    target = pages.write_glance_page(fake_repo)
    assert target == fake_repo / pages.GLANCE_PAGE
    assert target.read_text() == pages.glance_page(fake_repo / "book")  # the default: ADVGEOM_ROOT's notebooks/
    assert "A: {glue:text}`01_a.ipynb::x:.2f`" in target.read_text()
    (fake_repo / "notebooks" / "glance.yml").unlink()
    assert pages.write_glance_page(fake_repo).read_text() == "\n"  # no glance.yml: an empty summary


def _executed_with_tables(path: Path, title: str, tables: dict[str, pd.DataFrame]) -> None:
    """A minimal executed chapter: a title and, per table, the output charts.publish displays."""
    outputs = []
    for name, frame in tables.items():
        bundle, metadata = charts.table_bundle(frame, name, f"The {name}", chapter=path.stem)
        outputs.append(nbformat.v4.new_output("display_data", data=bundle, metadata=metadata))
    cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\nText."),
             nbformat.v4.new_code_cell("publish()", outputs=outputs)]  # fmt: skip
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)


def test_explorer_page_has_each_chapters_tables(tmp_path):
    acc = pd.DataFrame({"model": ["a", "a", "b", "b"], "eps": [0.0, 0.1] * 2, "value": [0.9, 0.5, 0.8, 0.4]})
    radius = acc.rename(columns={"value": "r"})
    _executed_with_tables(tmp_path / "01_b.ipynb", "Second", {"accuracy": acc, "radius": radius})
    _executed_with_tables(tmp_path / "00_a.ipynb", "First", {"accuracy": acc})
    _executed_with_tables(tmp_path / "02_c.ipynb", "Nothing published", {})
    _executed_with_tables(tmp_path / "03_d.failed.ipynb", "Failed", {"accuracy": acc})
    page = pages.explorer_page(tmp_path)
    assert page.startswith("# Explorer\n")
    assert re.findall(r"^## (.+)$", page, flags=re.M) == ["First", "Second"]  # chapter order; only publishers
    assert "From {doc}`00_a`." in page and "From {doc}`01_b`." in page
    blocks = re.findall(r"^```\{raw\} html\n(.*?)\n```$", page, flags=re.M | re.S)
    assert len(blocks) == 2
    assert 'download="01_b-accuracy.csv"' in blocks[1] and 'download="01_b-radius.csv"' in blocks[1]
    spec = json.loads(re.search(r"var spec = (\{.*\});\n", blocks[1]).group(1))
    assert [v["title"]["text"] if isinstance(v["title"], dict) else v["title"] for v in spec["concat"]] == [
        "The accuracy", "The radius"]
    assert "<script src" not in page
    assert notebooks.published_tables(tmp_path / "02_c.ipynb") == []
    assert notebooks.notebook_title(tmp_path / "01_b.ipynb") == "Second"


def test_no_explorer_without_published_tables(tmp_path):
    (tmp_path / "book").mkdir()
    _executed_with_tables(tmp_path / "book" / "00_a.ipynb", "First", {})
    stale = tmp_path / pages.EXPLORER_PAGE
    stale.write_text("# Explorer\n")
    assert pages.explorer_page(tmp_path / "book") is None
    assert pages.write_explorer_page(tmp_path) is None and not stale.exists()  # the toc then leaves it out
    acc = pd.DataFrame({"model": ["a"], "value": [1.0]})
    _executed_with_tables(tmp_path / "book" / "00_a.ipynb", "First", {"acc": acc})
    assert pages.write_explorer_page(tmp_path) == stale and stale.read_text().startswith("# Explorer")


def test_raw_html_fence_outlasts_the_content():
    assert pages._raw_html("<p>x</p>").startswith("```{raw} html\n")
    assert pages._raw_html("a ```` b").startswith("`````{raw} html\n")
