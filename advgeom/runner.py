"""Run the book's notebooks with validated parameters, and build the book.

Notebooks live in ``notebooks/NN_name.py`` (Jupytext percent format). Each has one
cell tagged ``parameters`` made of simple assignments::

    # %% tags=["parameters"]
    n_images = 50  # images per class manifold
    eps_grid = [0.0, 0.5, 1.0]  # attack strengths (x/255)

The default of each name fixes its type (int, float, str, bool, None, or a list/tuple
of those) and the trailing comment is its description. Overrides are checked against
these before anything runs; a wrong name or type raises ``ValueError`` listing what
is allowed.

Execution: ``jupytext.read`` -> ``papermill.execute_notebook`` with the working
directory set to the repository root (so relative paths mean the same thing in tests,
on the command line and in the book) and the environment variable ``ADVGEOM_BOOK=1``
(``advgeom.plots`` then emits charts that render offline in the built book). The
output is written to a temporary file beside the target and moved onto
``<out_dir>/<stem>.ipynb`` only on success; a failed run never overwrites a good
executed notebook, its partial output is kept as ``<stem>.failed.ipynb``. Under the title of
every executed notebook the runner inserts a note with the exact ``advgeom run`` command that
reproduces it and how long it took (:mod:`advgeom.reproduce`), and records both in the
notebook's metadata (key ``advgeom``), from which ``book/parameters.md`` is generated.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tokenize
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advgeom.cache import atomic_write_text, cache_dir, param_key
from advgeom.presets import ESTIMATES, PRESETS

BOOK_ENV = "ADVGEOM_BOOK"
ROOT_ENV = "ADVGEOM_ROOT"
NOTEBOOK_GLOB = "[0-9]*.py"


class NotebookExecutionError(RuntimeError):
    """A notebook raised while executing (the message names the cell and the error)."""


class BookBuildError(RuntimeError):
    """``jupyter-book build`` failed or reported warnings."""


# --------------------------------------------------------------------------- paths


def repo_root() -> Path:
    """The repository root: ``$ADVGEOM_ROOT``, else the folder above the package if it holds
    ``pyproject.toml`` and ``_config.yml`` (an editable install), else the current directory."""
    env = os.environ.get(ROOT_ENV)
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parents[1]
    if (here / "pyproject.toml").is_file() and (here / "_config.yml").is_file():
        return here
    return Path.cwd().resolve()


def notebooks_dir() -> Path:
    """``<repo root>/notebooks``."""
    return repo_root() / "notebooks"


def list_notebooks(folder: str | os.PathLike[str] | None = None) -> list[Path]:
    """The book's notebooks, ``notebooks/[0-9]*.py`` sorted by name."""
    folder = Path(folder) if folder is not None else notebooks_dir()
    return sorted(p for p in folder.glob(NOTEBOOK_GLOB) if p.is_file())


def resolve_notebook(name: str | os.PathLike[str]) -> Path:
    """Find a notebook by stem (``01_vision_geometry``), number (``01``/``1``), file name,
    name without number (``vision_geometry``) or path to a ``.py`` file."""
    text = str(name)
    path = Path(text)
    if path.suffix == ".py" and path.is_file():
        return path.resolve()
    books = list_notebooks()
    stem = Path(text).name
    stem = stem[:-3] if stem.endswith(".py") else stem
    matches = [p for p in books if p.stem == stem]
    if not matches and stem.isdigit():
        matches = [p for p in books if p.stem.split("_", 1)[0].isdigit() and int(p.stem.split("_", 1)[0]) == int(stem)]
    if not matches:
        matches = [p for p in books if p.stem.split("_", 1)[-1] == stem]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise ValueError(f"notebook {text!r} is ambiguous: it matches {[p.stem for p in matches]}")
    names = ", ".join(p.stem for p in books) or f"(none in {notebooks_dir()})"
    raise ValueError(
        f"unknown notebook {text!r}; available: {names} (give the full name, its number, or a path to a .py notebook)"
    )


# --------------------------------------------------------------------- parameters


_SCALARS: dict[type, str] = {bool: "bool", int: "int", float: "float", str: "str"}


@dataclass(frozen=True)
class Parameter:
    """One notebook parameter: its default, inferred type and description.

    ``kind`` is ``"int"``, ``"float"``, ``"str"``, ``"bool"``, ``"any"`` (default None)
    or ``"list"``/``"tuple"``; ``element`` is the element kind of a list/tuple
    (``"any"`` when the default is empty or mixed).
    """

    name: str
    default: Any
    kind: str
    element: str | None = None
    description: str = ""

    @property
    def type_name(self) -> str:
        """Human-readable type, e.g. ``float``, ``list[float]``, ``None (any literal)``."""
        if self.kind in ("list", "tuple"):
            return f"{self.kind}[{self.element}]"
        if self.kind == "any":
            return "None (any literal)"
        return self.kind

    def check(self, value: Any) -> Any:
        """Return ``value`` converted to this parameter's type (int->float, tuple->list), or raise."""
        if self.kind == "any":
            _check_literal(self.name, value)
            return _to_injectable(value)
        if self.kind in ("list", "tuple"):
            if not isinstance(value, (list, tuple)):
                raise ValueError(
                    f"parameter {self.name!r} must be {self.type_name}, got {value!r} ({type(value).__name__})"
                )
            out = []
            for i, v in enumerate(value):
                try:
                    out.append(_check_scalar(f"{self.name}[{i}]", v, self.element or "any"))
                except ValueError:
                    raise ValueError(
                        f"parameter {self.name!r} must be {self.type_name}; element {i} is {v!r} ({type(v).__name__})"
                    ) from None
            return out
        return _check_scalar(self.name, value, self.kind)


def _check_scalar(name: str, value: Any, kind: str) -> Any:
    if kind == "any":
        _check_literal(name, value)
        return _to_injectable(value)
    ok = {
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "str": isinstance(value, str),
    }[kind]
    if not ok:
        raise ValueError(f"parameter {name!r} must be {kind}, got {value!r} ({type(value).__name__})")
    return float(value) if kind == "float" else value


def _check_literal(name: str, value: Any) -> None:
    if value is None or isinstance(value, (bool, int, float, str)):
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_literal(f"{name}[{i}]", v)
        return
    raise ValueError(f"parameter {name!r} must be a simple literal (number, str, bool, None or a list), got {value!r}")


def _to_injectable(value: Any) -> Any:
    """papermill injects lists but not tuples: turn tuples into lists, recursively."""
    if isinstance(value, (list, tuple)):
        return [_to_injectable(v) for v in value]
    return value


def _infer(name: str, default: Any, description: str) -> Parameter:
    if default is None:
        return Parameter(name, None, "any", None, description)
    if type(default) in _SCALARS:
        return Parameter(name, default, _SCALARS[type(default)], None, description)
    if isinstance(default, (list, tuple)):
        kinds = {_SCALARS.get(type(v), "any") for v in default}
        if kinds == {"int", "float"}:
            element = "float"
        elif len(kinds) == 1 and "any" not in kinds:
            element = kinds.pop()
        else:
            element = "any"
        return Parameter(name, default, type(default).__name__, element, description)
    raise ValueError(f"parameter {name!r} has an unsupported default {default!r}")


def parse_parameters(source: str, *, origin: str = "<parameters cell>") -> dict[str, Parameter]:
    """Parse a parameters cell: ``name = literal  # description`` lines, via ``ast``.

    Raises ValueError for anything else (expressions, tuple targets, calls), naming the line.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise ValueError(f"{origin}: the parameters cell is not valid Python: {err}") from err
    comments: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok.string.lstrip("#").strip()
    params: dict[str, Parameter] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            target, value_node = node.targets[0].id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            target, value_node = node.target.id, node.value
        else:
            raise ValueError(
                f"{origin}, line {node.lineno}: parameters cells may only hold `name = literal  # description` lines"
            )
        try:
            default = ast.literal_eval(value_node)
        except ValueError as err:
            raise ValueError(
                f"{origin}, line {node.lineno}: the default of {target!r} must be a literal "
                f"(number, str, bool, None, list/tuple of those), got `{ast.unparse(value_node)}`"
            ) from err
        description = comments.get(node.end_lineno or node.lineno, "")
        params[target] = _infer(target, default, description)
    return params


def _read(path: Path):
    import jupytext

    return jupytext.read(path)


def _parameters_cell(nb, origin: str) -> str:
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"{origin}: expected exactly one code cell tagged 'parameters', found {len(cells)}")
    return cells[0].source


def notebook_parameters(name: str | os.PathLike[str]) -> dict[str, Parameter]:
    """The parameters of a notebook (name -> Parameter), in cell order."""
    path = resolve_notebook(name)
    return parse_parameters(_parameters_cell(_read(path), str(path)), origin=path.name)


def describe_parameters(params: Mapping[str, Parameter]) -> str:
    """``name: type = default  # description`` lines, for error messages and ``advgeom list``."""
    if not params:
        return "  (no parameters)"
    width = max(len(p.name) + len(p.type_name) for p in params.values()) + 2
    lines = []
    for p in params.values():
        head = f"{p.name}: {p.type_name}".ljust(width)
        lines.append(f"  {head} = {p.default!r}" + (f"  # {p.description}" if p.description else ""))
    return "\n".join(lines)


def validate_params(
    spec: Mapping[str, Parameter], values: Mapping[str, Any], *, notebook: str = "notebook"
) -> dict[str, Any]:
    """Check names and types of ``values`` against ``spec``; return them converted for injection."""
    unknown = [k for k in values if k not in spec]
    if unknown:
        raise ValueError(
            f"{notebook} has no parameter(s) {', '.join(map(repr, unknown))}; valid parameters: "
            f"{', '.join(spec) or '(none)'}\n" + describe_parameters(spec)
        )
    out: dict[str, Any] = {}
    for key, value in values.items():
        try:
            out[key] = spec[key].check(value)
        except ValueError as err:
            raise ValueError(f"{notebook}: {err}; the default is {spec[key].default!r}") from None
    return out


def get_preset(stem: str, preset: str) -> dict[str, Any]:
    """The raw overrides of ``preset`` for notebook ``stem`` (ValueError listing presets if unknown)."""
    available = PRESETS.get(stem, {})
    if preset not in available:
        raise ValueError(
            f"notebook {stem} has no preset {preset!r}; available: {sorted(available) or '(none)'}"
            " (presets are defined in advgeom/presets.py)"
        )
    return dict(available[preset])


def resolve_params(
    name: str | os.PathLike[str], params: Mapping[str, Any] | None = None, preset: str | None = None
) -> tuple[Path, dict[str, Any]]:
    """Notebook path and validated overrides: the preset's, updated by ``params``."""
    path = resolve_notebook(name)
    spec = parse_parameters(_parameters_cell(_read(path), str(path)), origin=path.name)
    merged: dict[str, Any] = {}
    if preset is not None:
        merged.update(validate_params(spec, get_preset(path.stem, preset), notebook=f"{path.stem} preset {preset!r}"))
    merged.update(validate_params(spec, dict(params or {}), notebook=path.stem))
    return path, merged


def parse_value(text: str, expected: Parameter | None = None) -> Any:
    """Parse a command-line VALUE like papermill's ``-p``/``-y``: a Python literal, else YAML,
    else the raw string. A ``str`` parameter keeps the raw text unless it is a quoted string."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        import yaml

        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            value = text
    if expected is not None and expected.kind == "str" and not isinstance(value, str):
        return text
    return value


# ---------------------------------------------------------------------- execution


def _timings_file() -> Path:
    return cache_dir() / "runner" / "timings.json"


def _load_timings() -> dict[str, float]:
    try:
        return json.loads(_timings_file().read_text())
    except (OSError, ValueError):
        return {}


def _estimate(stem: str, preset: str | None, key: str) -> str | None:
    parts = []
    human = ESTIMATES.get(stem, {}).get(preset or "default")
    if human:
        parts.append(f"estimate {human}")
    last = _load_timings().get(key)
    if last is not None:
        parts.append(f"last run with these parameters took {last:.0f} s")
    return "; ".join(parts) or None


def _record_timing(key: str, seconds: float) -> None:
    timings = _load_timings()
    timings[key] = round(seconds, 1)
    try:
        _timings_file().parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(_timings_file(), json.dumps(timings, indent=1, sort_keys=True))
    except OSError:
        pass


def _make_readable(path: Path) -> None:
    """mkstemp creates 0600 files; give the executed notebook the usual permissions."""
    umask = os.umask(0)
    os.umask(umask)
    path.chmod(0o666 & ~umask)


def _remove_stale_runs(out: Path, stem: str) -> None:
    """Delete temporary outputs ``.<stem>.<pid>.*.running.ipynb`` left by runs whose process is gone (killed)."""
    for tmp in out.glob(f".{stem}.*.running.ipynb"):
        pid = tmp.name[len(stem) + 2 :].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _add_rerun_note(
    tmp: Path, path: Path, values: Mapping[str, Any], preset: str | None, out: Path, seconds: float
) -> None:
    """Put the exact ``advgeom run`` command (and the run's metadata) into the executed notebook."""
    import nbformat

    from advgeom.reproduce import METADATA_KEY, insert_rerun_cell, relative_link, rerun_command, rerun_markdown

    root = repo_root()
    try:  # chapters are named by stem; another notebook by its path
        name = path.stem if resolve_notebook(path.stem) == path else str(path)
    except ValueError:
        name = str(path)
    command = rerun_command(name, values, preset)
    in_book = out.resolve() == (root / "book").resolve()
    source = relative_link(out, path) if path.resolve().is_relative_to(root) and out.resolve().is_relative_to(root) \
        else None  # fmt: skip
    nb = nbformat.read(tmp, as_version=4)
    insert_rerun_cell(nb, rerun_markdown(path.stem, command, seconds=seconds, source=source,
                                         parameters_link="parameters.md" if in_book else None))
    nb.metadata[METADATA_KEY] = {"stem": path.stem, "preset": preset, "parameters": dict(values),
                                 "command": command, "seconds": round(seconds, 1)}  # fmt: skip
    nbformat.write(nb, tmp)


def _describe_failure(err: BaseException) -> str:
    ename, evalue = getattr(err, "ename", None), getattr(err, "evalue", None)
    if ename is not None:
        where = f"cell In [{err.exec_count}]" if getattr(err, "exec_count", None) else "a cell"
        return f"{ename}: {_shorten(str(evalue))} (in {where})"
    return f"{type(err).__name__}: {_shorten(str(err))}"


def _shorten(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 5] + " ..."


class _SkipInspectionNoise(logging.Filter):
    """Drop papermill's own parameter-inspection warnings: our parser has already validated every name."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not message.startswith(("Unable to parse line", "Passed unknown parameter"))


def _quiet_papermill_inspection() -> None:
    for name in ("papermill", "papermill.translators"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _SkipInspectionNoise) for f in logger.filters):
            logger.addFilter(_SkipInspectionNoise())


def run_notebook(
    name: str | os.PathLike[str],
    params: Mapping[str, Any] | None = None,
    preset: str | None = None,
    out_dir: str | os.PathLike[str] = "book",
    progress: bool = True,
    kernel: str = "python3",
    timeout: float | None = None,
) -> Path:
    """Execute notebook ``name`` with ``preset`` overrides updated by ``params``; return the output path.

    Parameters are validated before execution. ``out_dir`` relative paths are taken from
    the repository root. The notebook runs with cwd = repository root and ``ADVGEOM_BOOK=1``.
    ``timeout`` is a per-cell limit in seconds (None: no limit). On failure raises
    :class:`NotebookExecutionError` and keeps the partial output at ``<stem>.failed.ipynb``;
    the previous ``<stem>.ipynb`` (if any) is left untouched.
    """
    import papermill

    _quiet_papermill_inspection()
    path, values = resolve_params(name, params, preset)
    root = repo_root()
    out = Path(out_dir)
    out = out if out.is_absolute() else root / out
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{path.stem}.ipynb"
    failed = out / f"{path.stem}.failed.ipynb"

    nb = _read(path)
    nb.metadata.setdefault("kernelspec", {"name": kernel, "display_name": "Python 3", "language": "python"})
    key = f"{path.stem}:{param_key(values)}"
    if progress:
        shown = ", ".join(f"{k}={v!r}" for k, v in values.items()) or "defaults"
        print(f"[advgeom] running {path.stem} ({'preset ' + preset + ', ' if preset else ''}{shown})", flush=True)
        hint = _estimate(path.stem, preset, key)
        if hint:
            print(f"[advgeom]   {hint}", flush=True)

    _remove_stale_runs(out, path.stem)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.{os.getpid()}.", suffix=".running.ipynb", dir=out)
    os.close(fd)
    tmp = Path(tmp_name)
    previous = os.environ.get(BOOK_ENV)
    os.environ[BOOK_ENV] = "1"
    start = time.perf_counter()
    try:
        with _interrupt_stops_kernel(), _private_kernel_transport() as kernel_config:
            papermill.execute_notebook(
                nb,
                str(tmp),
                parameters=values or None,
                kernel_name=kernel,
                progress_bar=progress,
                cwd=str(root),
                execution_timeout=timeout,
                log_output=False,
                **kernel_config,
            )
        _add_rerun_note(tmp, path, values, preset, out, time.perf_counter() - start)
        _make_readable(tmp)
        os.replace(tmp, target)
    except KeyboardInterrupt:
        raise
    except Exception as err:
        kept = ""
        if tmp.exists() and tmp.stat().st_size > 0:
            _make_readable(tmp)
            os.replace(tmp, failed)
            kept = f"; the failed notebook is kept at {failed}"
        raise NotebookExecutionError(f"notebook {path.stem} failed: {_describe_failure(err)}{kept}") from err
    finally:
        tmp.unlink(missing_ok=True)
        if previous is None:
            os.environ.pop(BOOK_ENV, None)
        else:
            os.environ[BOOK_ENV] = previous
    seconds = time.perf_counter() - start
    failed.unlink(missing_ok=True)  # a stale failure report would mislead
    _record_timing(key, seconds)
    if progress:
        print(f"[advgeom] {path.stem} done in {seconds:.0f} s -> {target}", flush=True)
    return target


@contextlib.contextmanager
def _private_kernel_transport() -> Iterator[dict[str, Any]]:
    """Engine options that connect to the kernel over Unix sockets in a private temporary folder.

    The default transport is TCP on localhost, where other local users could listen in (ipykernel
    warns on every start). On POSIX systems the kernel's sockets go to a folder only this user can
    read, removed afterwards; elsewhere (Windows has no IPC transport) nothing changes.
    """
    if os.name != "posix":
        yield {}
        return
    from traitlets.config import Config

    folder = tempfile.mkdtemp(prefix="advgeom-kernel-")  # mode 0700
    try:
        yield {"config": Config({"KernelManager": {"transport": "ipc", "ip": os.path.join(folder, "kernel")}})}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _interrupt_stops_kernel() -> Iterator[None]:
    """While executing: Ctrl-C (SIGINT) kills the kernel processes this runner started, then raises
    ``KeyboardInterrupt``. Without it, papermill may wait for a busy kernel to finish its cell before
    the interrupt is seen (minutes, in a long training cell)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        import psutil  # a dependency of ipykernel

        for child in psutil.Process().children(recursive=True):
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


# --------------------------------------------------------------------------- book

_WARNING_RE = re.compile(r"(WARNING|ERROR|CRITICAL|SEVERE):")
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _jupyter_book() -> str:
    local = Path(sys.executable).parent / "jupyter-book"
    found = str(local) if local.exists() else shutil.which("jupyter-book")
    if not found:
        raise BookBuildError("jupyter-book is not installed; run `pip install -e '.[book]'` (or `make setup`)")
    return found


def build_book(root: str | os.PathLike[str] | None = None, *, clean: bool = True, echo: bool = True) -> Path:
    """``jupyter-book build <root> -W -n --keep-going`` after removing ``<root>/_build``; return the HTML dir.

    Before building it writes ``book/parameters.md`` (:func:`advgeom.reproduce.write_parameters_page`),
    the landing page's summary ``book/_generated/glance.md`` (:func:`~advgeom.reproduce.write_glance_page`)
    and ``_build/_toc.yml``: ``_toc.yml`` without the entries whose page does not exist yet
    (:func:`advgeom.reproduce.effective_toc`), which the build uses. Raises :class:`BookBuildError`
    listing the warnings if the build fails or warns (an incremental build misses ``_static``
    changes, hence the clean).
    """
    from advgeom.reproduce import write_effective_toc, write_glance_page, write_parameters_page

    root = Path(root).resolve() if root is not None else repo_root()
    build = root / "_build"
    if clean and build.exists():
        shutil.rmtree(build)
    write_parameters_page(root)
    write_glance_page(root)
    toc = build / "_toc.yml"
    dropped = write_effective_toc(root, toc)
    if dropped and echo:
        print(f"[advgeom] note: left out of the table of contents (no page yet): {', '.join(dropped)}", flush=True)
    cmd = [_jupyter_book(), "build", str(root), "--toc", str(toc), "-W", "-n", "--keep-going"]
    if echo:
        print(f"[advgeom] {' '.join(cmd[1:])}", flush=True)
    lines: list[str] = []
    with subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(_ANSI_RE.sub("", line.rstrip("\n")))
            if echo:
                print(line, end="", flush=True)
        rc = proc.wait()
    warnings = [line for line in lines if _WARNING_RE.search(line)]
    html = build / "html"
    if rc != 0 or warnings or not (html / "index.html").exists():
        shown = "\n".join(warnings[:30]) or "\n".join(lines[-15:])
        raise BookBuildError(f"jupyter-book build failed (exit {rc}, {len(warnings)} warning(s)):\n{shown}")
    return html


def make_book(
    preset: str | None = None,
    *,
    skip_execute: bool = False,
    only: Sequence[str] | None = None,
    out_dir: str | os.PathLike[str] = "book",
    progress: bool = True,
    vendor: bool = True,
    allow_missing: bool = False,
) -> Path:
    """What ``advgeom book`` does: vendor the offline assets, execute the notebooks (all, or
    ``only``) into ``out_dir``, check every notebook has an executed copy, build; return the HTML dir.

    ``allow_missing``: build even if some notebooks have no executed copy (their pages are left
    out of the book, with a note) instead of refusing."""
    root = repo_root()
    notebooks = list_notebooks()
    if not notebooks:
        raise ValueError(f"no notebooks found in {notebooks_dir()} (expected files named NN_name.py)")
    chosen = [resolve_notebook(n) for n in only] if only else notebooks
    # validate everything before spending time on any execution
    for path in chosen:
        resolve_params(path, None, preset)
    out = Path(out_dir)
    out = out if out.is_absolute() else root / out

    def check_executed(will_run: Sequence[Path]) -> None:
        missing = [p.stem for p in notebooks if p not in will_run and not (out / f"{p.stem}.ipynb").exists()]
        if missing and allow_missing:
            if progress:
                print(f"[advgeom] note: no executed notebook for {', '.join(missing)}: left out", flush=True)
        elif missing:
            raise ValueError(
                f"no executed notebook for {', '.join(missing)} in {out}; run `advgeom run NAME` for each, "
                "or `advgeom book` without --skip-execute/--only (or with --allow-missing to leave them out)"
            )

    check_executed([] if skip_execute else chosen)
    if vendor:
        from advgeom.assets import vendor_assets

        vendor_assets(root / "_static", progress=progress)
    if not skip_execute:
        for path in chosen:
            run_notebook(path, preset=preset, out_dir=out, progress=progress)
    check_executed([])
    stale = sorted(
        p.name for p in out.glob(NOTEBOOK_GLOB.replace(".py", ".ipynb"))
        if not p.name.endswith(".failed.ipynb") and p.stem not in {n.stem for n in notebooks}
    )
    if stale and progress:
        print(f"[advgeom] note: {out} holds executed notebooks with no source in notebooks/: {stale}", flush=True)
    return build_book(root, echo=progress)


def glued_values(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``name -> value`` of every ``myst_nb.glue`` output in an executed notebook.

    Values are read back from their ``text/plain`` form: Python literals (numbers, strings, lists,
    dicts) are evaluated, anything else (charts, tables) is returned as its text.
    """
    import ast

    import nbformat

    values: dict[str, Any] = {}
    for cell in nbformat.read(Path(path), as_version=4).cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if not name:
                continue
            text = output.get("data", {}).get("application/papermill.record/text/plain", "")
            try:
                values[name] = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                values[name] = text
    return values


def glue_names_in_prose(name: str | os.PathLike[str]) -> set[str]:
    """Names a notebook's markdown refers to with ``{glue:...}`name``` roles or ``{glue:figure}`` directives."""
    import re

    source = resolve_notebook(name).read_text()
    used = set(re.findall(r"\{glue(?::text|:figure|:any|:md)?\}`([A-Za-z0-9_]+)", source))
    return used | set(re.findall(r"\{glue:figure\}\s+([A-Za-z0-9_]+)", source))
