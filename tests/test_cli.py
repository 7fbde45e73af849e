"""advgeom.cli: `advgeom list | run | book | sweep | assets` and its error handling (bad inputs exit with status 2
and one line naming the bad value, never a traceback)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from advgeom import cli
from advgeom.book import notebooks

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "fixtures" / "99_tiny.py"


def glued(path: Path) -> dict[str, str]:
    """name -> text/plain of every myst_nb.glue output in an executed notebook."""
    nb = nbformat.read(path, as_version=4)
    return {
        o["metadata"]["scrapbook"]["name"]: o["data"]["application/papermill.record/text/plain"]
        for cell in nb.cells for o in cell.get("outputs", []) if "scrapbook" in o.get("metadata", {})
    }


def test_list_shows_parameters_types_defaults(capsys):
    assert cli.main(["list", str(TINY)]) == 0
    out = capsys.readouterr().out
    assert "99_tiny" in out
    for line in ("n: int", "= 3", "# number of points", "offsets: list[float]", "[0.0, 0.5]", "fail: bool"):
        assert line in out


def test_run_with_parameters(tmp_path, capsys):
    rc = cli.main(["run", str(TINY), "-p", "n", "2", "-p", "offsets", "[0, 1]", "-p", "label", "123",
                   "--out", str(tmp_path), "--quiet"])
    assert rc == 0
    target = tmp_path / "99_tiny.ipynb"
    assert capsys.readouterr().out.strip() == str(target)
    # n=2, scale=1.5, offsets 0 and 1: 2 * 1.5 * (0 + 1) + 2 * (0 + 1)
    assert float(glued(target)["tiny_total"]) == 5.0


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["run", str(TINY), "-p", "nn", "2"], "no parameter(s) 'nn'; valid parameters: n, scale, label, offsets, fail"),
        (["run", str(TINY), "-p", "offsets", "abc"], "'offsets' must be list[float]"),
        (["run", str(TINY), "-p", "n", "2.5"], "'n' must be int"),
        (["run", str(TINY), "--preset", "tiny"], "no preset 'tiny'"),
        (["run", "no_such_notebook"], "unknown notebook 'no_such_notebook'"),
    ],
)
def test_user_errors_exit_2_with_one_line(args, fragment, tmp_path, capsys):
    assert cli.main([*args, "--out", str(tmp_path)]) == cli.EXIT_USER_ERROR
    err = capsys.readouterr().err
    first = err.splitlines()[0]
    assert first.startswith("advgeom: error: ") and fragment in first
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_failed_notebook_exits_2(tmp_path, capsys):
    assert cli.main(["run", str(TINY), "-p", "fail", "true", "--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "RuntimeError: tiny notebook asked to fail" in err and "Traceback" not in err
    assert (tmp_path / "99_tiny.failed.ipynb").exists() and not (tmp_path / "99_tiny.ipynb").exists()


def test_python_dash_m_and_console_script(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "advgeom", "run", "zz_missing"], capture_output=True, text=True,
                          cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("advgeom: error: unknown notebook") and "Traceback" not in proc.stderr
    script = Path(sys.executable).parent / "advgeom"
    assert script.exists(), "console script advgeom missing: pip install -e ."
    proc = subprocess.run([str(script), "list", str(TINY)], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0 and "offsets: list[float]" in proc.stdout


def test_book_refuses_missing_executed_notebooks(tmp_path, monkeypatch, capsys):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "01_only.py").write_text(TINY.read_text())
    monkeypatch.setenv(notebooks.ROOT_ENV, str(tmp_path))
    assert cli.main(["book", "--skip-execute", "--quiet"]) == 2
    assert "no executed notebook for 01_only" in capsys.readouterr().err
    assert cli.main(["book", "--preset", "nope", "--quiet"]) == 2  # checked before any work
    assert "no preset 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "_static").exists()


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("list", "run", "book", "assets"):
        assert command in out


def test_help_does_not_import_torch(tmp_path):
    """`advgeom --help` (and `advgeom list`) stay light: torch and the analysis package load only for `sweep`."""
    for args in (["--help"], ["list", str(TINY)]):
        proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "advgeom", *args], capture_output=True,
                              text=True, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-2000:]
        imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
        assert not {m for m in imported if m.split(".")[0] == "torch" or m.startswith("advgeom.analysis")}, args


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["list", "nope"], "unknown notebook 'nope'"),
        (["run", str(TINY), "-p", "offsets", "[1, 'a']"], "element 1 is 'a'"),
        (["run", str(TINY), "-p", "fail", "maybe"], "'fail' must be bool"),
        (["run", str(TINY), "-p", "label", "[1]"], None),  # a str parameter keeps the raw text: runs fine
        (["book", "--only", "nope", "--skip-execute"], "unknown notebook 'nope'"),
        (["sweep", "--model", "standard", "--scheduler", "nope"], "scheduler='nope' is not allowed"),
        (["sweep", "--model", "vone", "--manifold", "points", "--scheduler", "serial"], "manifold='points'"),
        (["sweep", "--model", "standard", "--dataset", "cifar10", "--scheduler", "serial"], "give root="),
        (["sweep", "--model", "standard=ckpt.pt", "--scheduler", "serial"], "checkpoint= is for the ImageNet"),
    ],
)
def test_cli_bad_inputs_exit_2_with_one_line(args, fragment, tmp_path, capsys):
    extra = ["--out", str(tmp_path), "--quiet"] if args[0] == "run" else []
    code = cli.main([*args, *extra])
    err = capsys.readouterr().err
    if fragment is None:
        assert code == 0, err
        return
    assert code == cli.EXIT_USER_ERROR
    assert err.startswith("advgeom: error: ") and fragment in err.splitlines()[0]
    assert "Traceback" not in err


def test_cli_missing_data_folder_names_the_path(tmp_path, capsys):
    missing = tmp_path / "no-cifar-here"
    code = cli.main(["sweep", "--model", "standard", "--dataset", "cifar10", "--data-root", str(missing),
                     "--scheduler", "serial", "--quiet"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == cli.EXIT_USER_ERROR and str(missing) in err and "Traceback" not in err


@pytest.mark.parametrize("args", [["frobnicate"], ["run"], ["run", str(TINY), "-p", "n"], ["sweep"]])
def test_cli_usage_errors_exit_2(args, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(args)
    assert exc.value.code == 2
    assert "usage: advgeom" in capsys.readouterr().err
