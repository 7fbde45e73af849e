"""advgeom.reproduce: re-run commands, the generated parameters page, the table of contents of existing pages."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import nbformat
import pytest
import yaml

from advgeom import cli, presets, reproduce, runner

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "data" / "99_tiny.py"
CHAPTERS = runner.list_notebooks(ROOT / "notebooks")


@pytest.fixture
def fake_repo(tmp_path, monkeypatch):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "book").mkdir()
    (tmp_path / "notebooks" / "01_tiny.py").write_text(TINY.read_text())
    monkeypatch.setenv(runner.ROOT_ENV, str(tmp_path))
    monkeypatch.setitem(presets.PRESETS, "01_tiny", {"tiny": {"n": 2, "label": "a b"}, "classroom": {}})
    monkeypatch.setitem(presets.ESTIMATES, "01_tiny", {"default": "~1 s", "classroom": "~2 s"})
    return tmp_path


@pytest.mark.parametrize(
    "value", [3, 2.0, 0.5, True, None, "demo", "123", "a b", "'quoted'", [0.0, 0.5], [1, 2], ["x", "y z"], []]
)
def test_format_value_round_trips(value):
    spec = runner.parse_parameters("p = 'text'  # a str parameter")["p"] if isinstance(value, str) else None
    text = reproduce.format_value(value, spec)
    assert reproduce._same(runner.parse_value(text, spec), value), (value, text)


def test_rerun_command_is_what_the_cli_runs(fake_repo):
    cmd = reproduce.rerun_command("01_tiny", {"n": 2, "label": "a b", "offsets": [0.0, 1.5]}, "tiny")
    assert cmd == "advgeom run 01_tiny --preset tiny -p offsets '[0.0, 1.5]'"  # preset values are not repeated
    cmd = reproduce.rerun_command("01_tiny", {"n": 5, "label": "two words", "fail": False})
    words = shlex.split(cmd)
    assert words[:3] == ["advgeom", "run", "01_tiny"]
    spec = runner.notebook_parameters("01_tiny")
    pairs = {words[i + 1]: runner.parse_value(words[i + 2], spec[words[i + 1]]) for i in range(3, len(words), 3)}
    assert pairs == {"n": 5, "label": "two words", "fail": False}
    assert reproduce.rerun_command("01_tiny") == "advgeom run 01_tiny"


def test_executed_notebook_carries_its_command(fake_repo):
    out = runner.run_notebook("01_tiny", {"scale": 2.5}, preset="tiny", progress=False)
    nb = nbformat.read(out, as_version=4)
    assert nb.metadata["advgeom"]["command"] == "advgeom run 01_tiny --preset tiny -p scale 2.5"
    assert nb.metadata["advgeom"]["parameters"] == {"n": 2, "label": "a b", "scale": 2.5}
    [note] = [c for c in nb.cells if reproduce.RERUN_TAG in c.metadata.get("tags", [])]
    assert nb.cells.index(note) == 1 and nb.cells[0].source.startswith("# A tiny test chapter")
    assert "advgeom run 01_tiny --preset tiny -p scale 2.5" in note.source
    assert "{download}`01_tiny.py <../notebooks/01_tiny.py>`" in note.source
    assert "[Parameters](parameters.md)" in note.source
    # running again replaces the note instead of adding a second one
    out = runner.run_notebook("01_tiny", preset="tiny", progress=False)
    notes = [c for c in nbformat.read(out, as_version=4).cells if reproduce.RERUN_TAG in c.metadata.get("tags", [])]
    assert len(notes) == 1 and "--preset tiny\n" in notes[0].source


def test_parameters_page_is_generated_from_the_code(fake_repo):
    runner.run_notebook("01_tiny", preset="tiny", progress=False)
    page = reproduce.write_parameters_page(fake_repo).read_text()
    assert page.startswith("# Parameters")
    assert "## A tiny test chapter" in page
    for row in ("| `n` | int | `3` | number of points |", "| `offsets` | list[float] | `[0.0, 0.5]` |",
                "| `classroom` | none | ~2 s |", "| (defaults) | none | ~1 s | `advgeom run 01_tiny` |"):
        assert row in page, row
    assert "`n=2`, `label='a b'`" in page
    assert re.search(r"computed in \d+ s with `advgeom run 01_tiny --preset tiny`", page)


def test_effective_toc_drops_missing_pages(tmp_path):
    for name in ("book/intro.md", "book/00_a.ipynb", "book/01_b.ipynb", "book/07_late.ipynb", "book/guide.md",
                 "book/02_c.failed.ipynb", "book/.02_c.123.abc.running.ipynb"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    toc["parts"][-1]["chapters"].insert(0, {"file": "book/guide"})
    new, dropped = reproduce.effective_toc(toc, tmp_path)
    parts = {p["caption"]: p["chapters"] for p in new["parts"]}
    assert parts["Foundations"] == [{"glob": "book/00_*"}]
    # 01 is taken by its own glob, 07 by the catch-all; 02 exists only as failed/running copies
    assert parts["Findings"] == [{"glob": "book/01_*"}, {"glob": "book/[0-9][0-9]_*"}]
    assert parts["Using the book"] == [{"file": "book/guide"}]
    assert "glob: book/02_*" in dropped and "file: book/parameters" in dropped
    (tmp_path / "book" / "07_late.ipynb").unlink()
    new, dropped = reproduce.effective_toc(toc, tmp_path)
    assert "glob: book/[0-9][0-9]_*" in dropped  # everything it matched was taken by earlier globs


def test_toc_lists_every_chapter_and_page():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    globs = [e["glob"] for p in toc["parts"] for e in p["chapters"] if "glob" in e]
    files = [e["file"] for p in toc["parts"] for e in p["chapters"] if "file" in e]
    for path in CHAPTERS:  # each chapter has its own place, not only the catch-all
        assert any(re.fullmatch(g.replace("*", ".*"), f"book/{path.stem}") for g in globs[:-1]), path.stem
    for page in files:
        assert page == reproduce.PARAMETERS_PAGE[:-3] or (ROOT / f"{page}.md").exists(), page


def test_book_allow_missing_builds_without_unexecuted_chapters(fake_repo, monkeypatch, capsys):
    built = []
    monkeypatch.setattr(runner, "build_book", lambda root, echo=True: built.append(root) or root / "_build" / "html")
    assert cli.main(["book", "--skip-execute", "--quiet"]) == cli.EXIT_USER_ERROR
    assert "--allow-missing" in capsys.readouterr().err and not built
    assert cli.main(["book", "--skip-execute", "--allow-missing"]) == 0
    assert "no executed notebook for 01_tiny: left out" in capsys.readouterr().out and built


@pytest.mark.parametrize("chapter", [p.stem for p in CHAPTERS])
def test_every_chapter_has_a_classroom_preset_under_five_minutes(chapter):
    """The teaching contract: a classroom preset and human estimates for it and for the defaults."""
    assert "classroom" in presets.PRESETS.get(chapter, {}), f"{chapter}: no classroom preset in advgeom/presets.py"
    estimates = presets.ESTIMATES.get(chapter, {})
    assert {"default", "classroom"} <= set(estimates), f"{chapter}: fill ESTIMATES in advgeom/presets.py"
    minutes = [float(v) / (60 if unit == "s" else 1) for v, unit in re.findall(r"(\d+(?:\.\d+)?)\s*(s|min)\b",
                                                                                 estimates["classroom"])]
    assert minutes and max(minutes) <= 5, f"{chapter}: classroom estimate {estimates['classroom']!r} is over 5 min"


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


def test_glance_page_glues_only_what_was_computed(tmp_path, monkeypatch):
    sentences = (
        ("01_a", ("x", "y"), "A: {x} then {y}."),
        ("01_a", ("z",), "Z: {z}."),  # key never glued: sentence left out
        ("02_b", ("w",), "B: {w}."),  # chapter not executed: named with its command
    )
    monkeypatch.setattr(reproduce, "GLANCE_SENTENCES", sentences)
    monkeypatch.setattr(reproduce, "GLANCE_FIGURE", ("01_a", "fig"))
    _executed_with_glue(tmp_path / "01_a.ipynb", {"x": 0.5, "y": 1.25})
    page = reproduce.glance_page(tmp_path)
    assert "A: {glue:text}`01_a.ipynb::x:.2f` then {glue:text}`01_a.ipynb::y:.2f`." in page
    assert "Z:" not in page and "B:" not in page and "{glue}" not in page
    assert "`advgeom run 02_b`" in page and "`advgeom run 01_a`" not in page
    _executed_with_glue(tmp_path / "01_a.ipynb", {"x": 0.5, "y": 1.25, "fig": "<chart>"})
    assert "```{glue} fig\n:doc: 01_a.ipynb\n```" in reproduce.glance_page(tmp_path)


def test_glance_sentences_name_keys_their_chapters_glue():
    """Every number the landing page asks for is glued by its chapter's source."""
    figure_stem, figure_key = reproduce.GLANCE_FIGURE
    for stem, keys, sentence in (*reproduce.GLANCE_SENTENCES, (figure_stem, (figure_key,), "")):
        source = (ROOT / "notebooks" / f"{stem}.py").read_text()
        for key in keys:
            assert f'"{key}"' in source or re.search(rf'f"{key.rsplit("_", 1)[0]}_{{', source), (stem, key)
        assert all(f"{{{k}}}" in sentence for k in keys if sentence)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_prose_has_no_api_cross_references(chapter):
    """The book has no API reference pages, so {func}/{mod}/... roles would be unresolved (a -n build error)."""
    roles = re.findall(r"\{(?:py:)?(?:func|mod|data|class|meth|attr|obj)\}`[^`]+`", chapter.read_text())
    assert not roles, f"{chapter.name}: use plain code literals instead of {roles}"
