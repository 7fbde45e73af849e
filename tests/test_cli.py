"""advgeom.cli: `advgeom list | run | book | sweep | assets` and its error handling (bad inputs exit with status 2
and one line naming the bad value, never a traceback)."""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest import mock

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advgeom import cli
from advgeom.book import notebooks
from advgeom.checks import Interval, Options

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


@pytest.mark.parametrize("value", ["-1e-3", "-1E+16", "-.5", "-2.", "-.inf", "-inf", "-.nan"])
def test_negative_numbers_are_values_not_options(value):
    """argparse took ``-1e-3`` for an option (``-p gain -1e-3``: 'expected 2 arguments')."""
    args = cli._parser(["run"]).parse_args(["run", "00", "-p", "gain", value])
    assert args.parameter == [["gain", value]]
    args = cli._parser(["sweep"]).parse_args(["sweep", "--model", "standard", "--eps", "0", "1e-3"])
    assert args.eps == [0.0, 0.001]


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


# ------------------------------------------------------------------ property-based: invalid values from the specs
#
# Invalid values are drawn from what each chapter parameter and each sweep option declares (its type, its
# interval or allowed values, its length), written as a user would type them, and run through cli.main in this
# process. Each must be refused before anything runs: exit 2, one stderr line naming the parameter, nothing
# written (no kernel is ever started: papermill and the sweep's training are replaced by a failure).


CHAPTER_PARAMETERS = [(path.stem, p) for path in notebooks.list_notebooks(ROOT / "notebooks")
                      for p in notebooks.notebook_parameters(path).values()]  # fmt: skip
PROPERTY_SETTINGS = settings(max_examples=50, deadline=None, derandomize=True, database=None,
                             suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip


def _text(value: object) -> str:
    """A value as typed on the command line: Python literals, with YAML's .nan / .inf for what has none."""
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    return repr(value) if not isinstance(value, str) else value


def _outside(interval: Interval) -> st.SearchStrategy:
    """Numbers outside ``interval`` (of its type), and for floats NaN and the infinities it does not admit."""
    options = []
    low_open, high_open = interval.closed in ("right", "neither"), interval.closed in ("left", "neither")
    if interval.minimum is not None and math.isfinite(interval.minimum):
        bound = interval.minimum
        options.append(st.integers(max_value=int(bound) - (0 if low_open else 1), min_value=int(bound) - 10**12)
                       if interval.type is int else
                       st.floats(max_value=bound, exclude_max=not low_open, allow_nan=False, allow_infinity=False,
                                 min_value=-1e300))  # fmt: skip
    if interval.maximum is not None and math.isfinite(interval.maximum):
        bound = interval.maximum
        options.append(st.integers(min_value=int(bound) + (0 if high_open else 1), max_value=int(bound) + 10**12)
                       if interval.type is int else
                       st.floats(min_value=bound, exclude_min=not high_open, allow_nan=False, allow_infinity=False,
                                 max_value=1e300))  # fmt: skip
    if interval.type is float:
        options.append(st.sampled_from([v for v in (math.nan, math.inf, -math.inf) if not interval.accepts(v)]))
    return st.one_of(options).filter(lambda v: not interval.accepts(v))  # -0.0 is no number below 0


def _inside(param: notebooks.Parameter, element: bool) -> object:
    """One allowed value of ``param`` (of an element of it when ``element``): from its default."""
    default = param.default
    if element:
        return default[0] if default else "word"
    return default


def _clause(param: notebooks.Parameter, each: bool, length: bool) -> notebooks.Clause | None:
    return next((c for c in param.clauses if c.each == each and c.length == length), None)


@st.composite
def invalid_chapter_value(draw, param: notebooks.Parameter) -> str:
    """The text of an invalid value of ``param``: wrong type, out of range or options, too long, too deep."""
    listed = param.kind in ("list", "tuple")
    kinds = ["wrong type", "too deep"]
    if _clause(param, listed, False) is not None:
        kinds.append("out of range")
    if _clause(param, False, True) is not None:
        kinds.append("wrong length")
    kind = draw(st.sampled_from(kinds))
    if kind == "too deep":
        depth = draw(st.integers(notebooks.MAX_VALUE_DEPTH + 1, 60))
        return "[" * depth + "]" * depth if param.kind != "str" else "x" * 5000  # a str keeps its raw text
    if kind == "wrong type":
        scalar = param.element if listed else param.kind
        wrong = {"int": ["2.5", "abc", "true", "[1]"], "float": ["abc", "[1.0]", "{a: 1}", "'1.0'"],
                 "bool": ["maybe", "2", "[true]"], "str": []}.get(scalar or "any", [])  # fmt: skip
        if listed:
            wrong = ["3", "abc"] + ([f"[{w}]" for w in wrong if not w.startswith("[")] if scalar != "str" else [])
        if not wrong:  # a str takes any text: break its options or length instead
            clause = _clause(param, False, True) or _clause(param, False, False)
            if clause is None or clause.length:
                return "x" * 5000
            return "not-an-option-" + draw(st.text("abc", max_size=4))
        return draw(st.sampled_from(wrong))
    if kind == "wrong length":
        clause = _clause(param, False, True)
        n = draw(_outside(clause.constraint).filter(lambda v: isinstance(v, int) and 0 <= v <= 3000))
        if param.kind == "str":
            return "x" * n
        return _text([_inside(param, True)] * n)
    clause = _clause(param, listed, False)
    if isinstance(clause.constraint, Options):
        bad = "zz-" + draw(st.text("abcdef", min_size=1, max_size=6))
    else:
        bad = draw(_outside(clause.constraint))
    if not listed:
        return _text(bad)
    values = [_inside(param, True)] * draw(st.integers(0, 3))
    values.insert(draw(st.integers(0, len(values))), bad)
    return _text(values)


@contextlib.contextmanager
def _nothing_may_run():
    """papermill and the sweep's networks replaced by a failure: a refusal must come before them."""
    import papermill

    from advgeom.analysis import sweep

    def started(*args, **kwargs):
        raise AssertionError("a kernel or a training run was started")

    with mock.patch.object(papermill, "execute_notebook", started), mock.patch.object(sweep, "_model", started), \
            mock.patch.object(sweep, "run_sweep", started):  # fmt: skip
        yield


def _refused(argv: list[str], out: Path) -> str:
    """Run ``advgeom argv`` in this process; assert exit 2, one stderr line, nothing in ``out``; return the line."""
    err = io.StringIO()
    with _nothing_may_run(), contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(argv)
    lines = err.getvalue().splitlines()
    assert code == cli.EXIT_USER_ERROR and len(lines) == 1 and lines[0].startswith("advgeom: error: "), (argv, lines)
    assert list(out.iterdir()) == [], argv
    return lines[0]


@PROPERTY_SETTINGS
@given(data=st.data())
def test_property_invalid_chapter_values_are_refused_before_anything_runs(data) -> None:
    stem, param = data.draw(st.sampled_from(CHAPTER_PARAMETERS), label="parameter")
    text = data.draw(invalid_chapter_value(param), label="value")
    with tempfile.TemporaryDirectory() as tmp:
        line = _refused(["run", stem, "-p", param.name, text, "--out", tmp], Path(tmp))
    assert f"'{param.name}'" in line, line


def _sweep_options() -> list[tuple[str, object]]:
    """(option, its OptionValue) of every ``advgeom sweep`` option read through a declared constraint."""
    from advgeom.analysis.sweep import OptionValue

    sub = next(a for a in cli._parser(["sweep"])._actions if isinstance(a, argparse._SubParsersAction))
    return [(a.option_strings[0], a.type) for a in sub.choices["sweep"]._actions if isinstance(a.type, OptionValue)]


SWEEP_OPTIONS = _sweep_options()


def test_every_numeric_or_named_sweep_option_is_declared() -> None:
    declared = {option for option, _ in SWEEP_OPTIONS}
    assert declared >= {"--eps", "--seeds", "--manifold", "--norm", "--repeats", "--attack-steps", "--eot", "--width",
                        "--n-t", "--dataset", "--n-classes", "--per-class", "--noise-scale", "--epochs",
                        "--train-size", "--workers"}  # fmt: skip


@st.composite
def invalid_option_value(draw, reader) -> str:
    constraint = reader.constraint
    if isinstance(constraint, Options):
        return "zz-" + draw(st.text("abcdef", min_size=1, max_size=6))
    words = {".nan": "nan", ".inf": "inf", "-.inf": "-inf"}  # how float() spells them
    not_numbers = st.sampled_from(["abc", "1.5x", "", "[1]"] + (["2.5"] if reader.kind is int else []))
    return draw(st.one_of(not_numbers, _outside(constraint).map(_text).map(lambda t: words.get(t, t))))


@PROPERTY_SETTINGS
@given(data=st.data())
def test_property_invalid_sweep_options_are_refused_before_anything_runs(data) -> None:
    option, reader = data.draw(st.sampled_from(SWEEP_OPTIONS), label="option")
    text = data.draw(invalid_option_value(reader), label="value")
    with tempfile.TemporaryDirectory() as tmp:
        line = _refused(["sweep", "--model", "standard", f"{option}={text}", "--out", f"{tmp}/r.csv"], Path(tmp))
    assert f"argument {option}:" in line, line


@PROPERTY_SETTINGS
@given(data=st.data())
def test_property_invalid_locations_layers_and_names_are_refused(data) -> None:
    """The options that are no numbers: output locations, layers, presets, kernels, notebooks, networks."""
    word = data.draw(st.text("abcdefghij_-", min_size=1, max_size=12), label="word")
    with tempfile.TemporaryDirectory() as tmp:
        a_file = Path(tmp) / "a-file"
        a_file.write_text("x")
        cases = {
            "run --out": (["run", "00", "--out", str(a_file / word)], "--out"),
            "run --preset": (["run", "00", "--preset", f"zz{word}", "--out", f"{tmp}/out"], f"no preset 'zz{word}'"),
            "run --kernel": (["run", "00", "--kernel", f"zz{word}", "--out", f"{tmp}/out"], f"kernel 'zz{word}'"),
            "run notebook": (["run", f"zz{word}", "--out", f"{tmp}/out"], f"unknown notebook 'zz{word}'"),
            "sweep --layers": (["sweep", "--model", "standard", "--layers", "pixels", f"zz{word}"], "--layers"),
            "sweep --out": (["sweep", "--model", "standard", "--out", str(a_file / f"{word}.csv")], "--out"),
            "sweep --model": (["sweep", "--model", f"zz{word}"], f"name='zz{word}' is not allowed"),
            "assets --static-dir": (["assets", "--static-dir", str(a_file / word)], "--static-dir"),
        }
        argv, fragment = cases[data.draw(st.sampled_from(sorted(cases)), label="case")]
        before = sorted(p.name for p in Path(tmp).iterdir())
        err = io.StringIO()
        with _nothing_may_run(), contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = cli.main(argv)
        [line] = err.getvalue().splitlines()
        assert code == cli.EXIT_USER_ERROR and line.startswith("advgeom: error: ") and fragment in line, line
        assert sorted(p.name for p in Path(tmp).iterdir()) == before
