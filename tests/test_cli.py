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
        (["run", str(TINY), "-p", "nn", "2"], "no parameter(s) 'nn'; valid parameters: n (int), scale (float), label"),
        (["run", str(TINY), "-p", "offsets", "abc"], "'offsets' must be list[float]"),
        (["run", str(TINY), "-p", "n", "2.5"], "'n' must be int"),
        (["run", str(TINY), "--preset", "tiny"], "no preset 'tiny'"),
        (["run", "no_such_notebook"], "unknown notebook 'no_such_notebook'"),
    ],
)
def test_user_errors_exit_2_with_one_line(args, fragment, tmp_path, capsys):
    assert cli.main([*args, "--out", str(tmp_path)]) == cli.EXIT_USER_ERROR
    err = capsys.readouterr().err
    [line] = err.splitlines()
    assert line.startswith("advgeom: error: ") and fragment in line
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
def test_cli_usage_errors_exit_2_with_one_line(args, capsys):
    assert cli.main(args) == cli.EXIT_USER_ERROR
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("advgeom: error: ") and "--help`)" in line


# ------------------------------------------------------------------ refused before anything runs


@pytest.fixture
def no_compute(monkeypatch):
    """Any kernel start or sweep task fails the test: refusals must come first."""
    import papermill

    from advgeom.analysis import sweep

    def started(*args, **kwargs):
        raise AssertionError("a kernel or a training run was started")

    monkeypatch.setattr(papermill, "execute_notebook", started)
    monkeypatch.setattr(sweep, "_model", started)
    monkeypatch.setattr(sweep, "run_sweep", started)


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    [line] = err.splitlines()
    assert line.startswith("advgeom: error: ")
    return line


@pytest.mark.parametrize(
    "chapter, name, value, fragment",
    [
        ("00", "n_t", "-5", "parameter 'n_t' = -5 is out of range: it must be in [1, 5000]"),
        ("00", "n_t", "1000000000", "parameter 'n_t' = 1000000000 is out of range"),
        ("00", "cover_P", "[-3]", "parameter 'cover_P' element 0 = -3 is out of range: it must be in [1, 2000]"),
        ("00", "n_sigma", ".nan", "parameter 'n_sigma' = nan is out of range"),
        ("01", "eps_grid", "[0, .inf]", "parameter 'eps_grid' element 1 = inf is out of range"),
        ("01", "norms", "[linf, l5]", "parameter 'norms' element 1 = 'l5' is not allowed"),
        ("03", "norm", "l5", "parameter 'norm' = 'l5' is not allowed: it must be one of linf, l2, l1"),
        ("00", "cover_P", "[" * 50_000 + "]" * 50_000, "the value of 'cover_P' is 100000 characters long"),
        ("00", "cover_P", "[" * 20 + "]" * 20, "the value of 'cover_P' is nested 20 levels deep"),
    ],
)
def test_run_refuses_values_out_of_their_range_before_a_kernel_starts(chapter, name, value, fragment, tmp_path,
                                                                      capsys, no_compute):
    assert cli.main(["run", chapter, "-p", name, value, "--out", str(tmp_path)]) == cli.EXIT_USER_ERROR
    assert fragment in _one_error_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_list_shows_the_allowed_values(capsys):
    assert cli.main(["list", "00"]) == 0
    out = capsys.readouterr().out
    assert "| in [1, 5000]" in out and "| each in [-5, 5] | length [1, 20]" in out


@pytest.fixture
def read_only_dir(tmp_path):
    """A folder this process cannot create files in (as root, who ignores modes: /sys)."""
    import os
    import tempfile

    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir(mode=0o500)
        yield folder
        folder.chmod(0o700)
        return
    try:
        tempfile.TemporaryFile(dir="/sys").close()
    except OSError:
        yield Path("/sys")
        return
    pytest.skip("no read-only folder available")


def test_output_locations_are_checked_before_anything_runs(tmp_path, read_only_dir, capsys, no_compute, monkeypatch):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    cases = [
        (["run", str(TINY), "--out", ""], "--out is empty"),
        (["run", str(TINY), "--out", str(a_file)], f"--out '{a_file}' is a file, not a folder"),
        (["run", str(TINY), "--out", str(a_file / "book")], f"lies under the file {a_file}"),
        (["run", str(TINY), "--out", str(read_only_dir / "book")], "is not writable"),
        (["assets", "--static-dir", str(read_only_dir / "static")], "--static-dir"),
        (["assets", "--static-dir", str(a_file)], "--static-dir"),
        (["sweep", "--model", "standard", "--out", str(read_only_dir / "r.csv")], "--out"),
        (["sweep", "--model", "standard", "--out", str(tmp_path)], "is a folder; give a file name"),
        (["sweep", "--model", "standard", "--out", ""], "--out is empty"),
    ]
    for args, fragment in cases:
        assert cli.main(args) == cli.EXIT_USER_ERROR, args
        assert fragment in _one_error_line(capsys), args
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]
    # the book's own output folders, before any execution or vendoring
    (tmp_path / "repo" / "notebooks").mkdir(parents=True)
    (tmp_path / "repo" / "notebooks" / "01_only.py").write_text(TINY.read_text())
    (tmp_path / "repo" / "book").write_text("a file where the book goes")
    monkeypatch.setenv(notebooks.ROOT_ENV, str(tmp_path / "repo"))
    assert cli.main(["book", "--quiet"]) == cli.EXIT_USER_ERROR
    assert "the book's output folder" in _one_error_line(capsys) and not (tmp_path / "repo" / "_static").exists()


def test_os_errors_reaching_the_cli_are_one_line(monkeypatch, capsys):
    for error in (PermissionError(13, "Permission denied", "/data/x.pt"), IsADirectoryError(21, "Is a directory", "/d"),
                  NotADirectoryError(20, "Not a directory", "/f/x")):
        def fail(args, error=error):
            raise error

        monkeypatch.setattr(cli, "_cmd_list", fail)
        assert cli.main(["list"]) == cli.EXIT_USER_ERROR
        assert _one_error_line(capsys) == f"advgeom: error: {error.strerror}: {error.filename}"


def test_unknown_kernel_is_refused_before_anything_runs(tmp_path, capsys, no_compute):
    assert cli.main(["run", str(TINY), "--kernel", "nope", "--out", str(tmp_path)]) == cli.EXIT_USER_ERROR
    assert "kernel 'nope' is not an installed Jupyter kernel (installed: " in _one_error_line(capsys)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "option, value, fragment",
    [
        ("--n-t", "0", "argument --n-t: n_t=0 is too small; it must be >= 1"),
        ("--n-t", "1000000000", "argument --n-t: n_t=1000000000 is too large; it must be <= 5000"),
        ("--eps", "nan", "argument --eps: eps=nan must be finite"),
        ("--width", "abc", "argument --width: 'abc' is not an integer"),
        ("--norm", "l5", "argument --norm: norm='l5' is not allowed"),
        ("--workers", "0", "argument --workers: workers=0 is too small"),
        ("--noise-scale", "inf", "argument --noise-scale: noise_scale=inf must be finite"),
        ("--layers", "pixels block9", "--layers: 'block9' is not a layer of standard; its layers are pixels,"),
    ],
)
def test_sweep_options_are_refused_before_any_training(option, value, fragment, tmp_path, capsys, no_compute):
    out = tmp_path / "r.csv"
    assert cli.main(["sweep", "--model", "standard", option, *value.split(), "--out", str(out)]) == 2
    assert fragment in _one_error_line(capsys)
    assert list(tmp_path.iterdir()) == []
