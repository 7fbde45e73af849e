"""Execute a chapter with papermill, and tell the reader how to re-run it.

Execution (:func:`run_notebook`): ``jupytext.read`` -> ``papermill.execute_notebook`` with the working
directory set to the repository root (so relative paths mean the same thing in tests, on the command line
and in the book) and the environment variables ``ADVGEOM_BOOK=1`` (:data:`advgeom.book.BOOK_ENV`;
:mod:`advgeom.book.charts` then emits charts that render offline in the built book) and ``ADVGEOM_CHAPTER``
(:data:`advgeom.book.CHAPTER_ENV`, the notebook's stem, which names the tables it publishes). The kernel talks over
Unix sockets in a private folder, and Ctrl-C (or SIGTERM) stops it at once. The output is written to a temporary file
beside the target and moved onto ``<out_dir>/<stem>.ipynb`` only on success; a failed run never overwrites
a good executed notebook, its partial output is kept as ``<stem>.failed.ipynb`` (also when Ctrl-C or SIGTERM
stops it: the kernel is killed, its files removed). Each run's time is recorded
(``cache_dir()/runner/timings.json``) and printed before the next run with the same parameters.

Where the time went: the kernel runs with ``ADVGEOM_TIMING_FILE`` (:data:`advgeom.timing.TIMING_ENV`) naming
a temporary file, where :mod:`advgeom.timing` keeps the seconds the chapter spent in training, attacks and
geometry; the runner reads it after the run, records it in the notebook's metadata (``timing``, beside the
total ``seconds``; :func:`executed_timing`) and prints it in one line. The notebook itself is not changed.

The re-run note: under the title of every executed notebook :func:`run_notebook` inserts
:func:`rerun_markdown`, with the exact ``advgeom run`` command that reproduces it (:func:`rerun_command`:
every value written so that the CLI reads it back exactly) and how long it took, and records both in the
notebook's metadata (key :data:`METADATA_KEY`), from which the parameters page is generated.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from advgeom.book import BOOK_ENV, CHAPTER_ENV
from advgeom.book.notebooks import (
    format_value,
    load_estimates,
    load_presets,
    notebook_parameters,
    read_notebook,
    relative_link,
    repo_root,
    resolve_notebook,
    resolve_params,
    same_value,
)
from advgeom.cache import atomic_write_text, cache_dir, param_key
from advgeom.timing import TIMING_ENV, read_ledger, timing_line

RERUN_TAG = "advgeom-rerun"
METADATA_KEY = "advgeom"


KERNEL_FOLDER_PREFIX = "advgeom-kernel-"  # + "<pid of the runner>-<random>": its sockets and connection file
# a Unix socket's path must fit in 104 bytes (macOS; 108 on Linux): "<folder>/kernel-<n>" longer than this would
# not connect, so kernel folders then go to FALLBACK_KERNEL_ROOT
SOCKET_PATH_MAX = 100
FALLBACK_KERNEL_ROOT = "/tmp"


class NotebookExecutionError(RuntimeError):
    """A notebook raised while executing (the message names the cell and the error)."""


class Terminated(BaseException):
    """The process received SIGTERM (raised by the handlers :func:`terminate_raises` and :func:`run_notebook`
    install; a BaseException, so that no ``except Exception`` swallows it)."""


@contextlib.contextmanager
def terminate_raises() -> Iterator[None]:
    """While in the block (in the main thread): SIGTERM raises :class:`Terminated`, so ``finally`` clauses
    and clean-up run as they do for Ctrl-C, instead of the process dying on the spot."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# ------------------------------------------------------------------ the re-run note


def rerun_command(
    stem: str, params: Mapping[str, Any] | None = None, preset: str | None = None, *, program: str = "advgeom"
) -> str:
    """``advgeom run STEM [--preset P] [-p NAME VALUE ...]`` reproducing these parameter values.

    ``stem`` is a chapter's stem (or the path of a notebook outside ``notebooks/``). ``params`` are
    the values the notebook ran with (the preset's, updated by explicit ones); only
    those that differ from the preset are written after ``--preset``. Values are shell-quoted.
    """
    key = Path(stem).stem  # presets are keyed by stem; ``stem`` may be a path to a notebook
    base = dict(load_presets().get(key, {}).get(preset, {})) if preset else {}
    spec = _spec(stem)
    words = [program, "run", stem]
    if preset:
        words += ["--preset", preset]
    for name, value in (params or {}).items():
        if name in base and same_value(value, base[name]):
            continue
        words += ["-p", name, format_value(value, spec.get(name))]
    return " ".join(shlex.quote(w) for w in words)


def _spec(stem: str) -> dict[str, Any]:
    try:
        return notebook_parameters(stem)
    except ValueError:
        return {}


def rerun_markdown(
    stem: str,
    command: str,
    *,
    seconds: float | None = None,
    source: str | None = None,
    parameters_link: str | None = None,
) -> str:
    """The note shown under a chapter's title: how this page was computed and how to re-run it."""
    took = f" (in {format_duration(seconds)}, reusing what was already cached)" if seconds is not None else ""
    lines = [
        ":::{admonition} Re-run this page",
        ":class: tip dropdown",
        "",
        f"This page is the executed notebook `{stem}`, computed{took} with",
        "",
        "```bash",
        command,
        "```",
        "",
        "Change any parameter with `-p NAME VALUE` (`advgeom list " + stem + "` shows them all, with types,",
        "defaults and presets; `--preset classroom` runs in a few minutes on a laptop).",
        "Download the executed notebook with the download button (top right of this page)",
    ]
    if source:
        lines[-1] += f", or its Jupytext source {{download}}`{Path(source).name} <{source}>`"
    lines[-1] += "."
    if parameters_link:
        lines.append(f"Every chapter's parameters and run times: [Parameters]({parameters_link}).")
    lines.append(":::")
    return "\n".join(lines)


def format_duration(seconds: float) -> str:
    """``42 s``, ``3.5 min`` or ``1.6 h``: a run time as the book's pages show it."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


PARAMETER_TAGS = ("parameters", "injected-parameters")  # the notebook's defaults; papermill's overrides


def collapse_parameter_cells(nb: Any) -> None:
    """Tag the parameters cells ``hide-input``: on the page they fold behind a "show code" toggle (the re-run
    note gives the command with the values used; the Parameters page lists every parameter)."""
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if set(PARAMETER_TAGS) & set(tags) and "hide-input" not in tags:
            cell.setdefault("metadata", {})["tags"] = [*tags, "hide-input"]


def insert_rerun_cell(nb: Any, text: str) -> None:
    """Insert (or replace) the re-run note in notebook ``nb`` right after the cell holding its title."""
    import nbformat

    nb.cells = [c for c in nb.cells if RERUN_TAG not in c.get("metadata", {}).get("tags", [])]
    cell = nbformat.v4.new_markdown_cell(text, metadata={"tags": [RERUN_TAG]})
    if nb.get("nbformat_minor", 5) < 5:  # cell ids exist from nbformat 4.5 on
        del cell["id"]
    at = 0
    for i, c in enumerate(nb.cells):
        if c.cell_type == "markdown" and any(line.startswith("# ") for line in c.source.splitlines()):
            at = i + 1
            break
    nb.cells.insert(at, cell)


def executed_metadata(book_dir: Path, stem: str) -> dict[str, Any]:
    """The ``advgeom`` metadata of ``book_dir/stem.ipynb`` (empty when missing or unreadable)."""
    try:
        meta = json.loads((book_dir / f"{stem}.ipynb").read_text()).get("metadata", {})
    except (OSError, ValueError):
        return {}
    return dict(meta.get(METADATA_KEY, {}))


def executed_timing(book_dir: Path, stem: str) -> tuple[float, dict[str, float]] | None:
    """``(total seconds, seconds per category)`` of the run that wrote ``book_dir/stem.ipynb``, from its
    metadata (None when there is no such run on record)."""
    meta = executed_metadata(book_dir, stem)
    if not isinstance(meta.get("seconds"), (int, float)):
        return None
    spent = meta.get("timing") if isinstance(meta.get("timing"), dict) else {}
    return float(meta["seconds"]), {k: float(v) for k, v in spent.items() if isinstance(v, (int, float))}


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
    human = load_estimates().get(stem, {}).get(preset or "default")
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


def _keep_failed(tmp: Path, failed: Path) -> bool:
    """Move the partial output ``tmp`` of a failed or interrupted run to ``failed``; whether there was one."""
    if not (tmp.exists() and tmp.stat().st_size > 0):
        return False
    _make_readable(tmp)
    os.replace(tmp, failed)
    return True


def check_kernel(kernel: str) -> None:
    """ValueError naming ``kernel`` unless it is an installed Jupyter kernel (checked before anything runs)."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    manager = KernelSpecManager()
    try:
        manager.get_kernel_spec(kernel)
    except NoSuchKernel:
        installed = ", ".join(sorted(manager.find_kernel_specs())) or "none"
        raise ValueError(f"kernel {kernel!r} is not an installed Jupyter kernel (installed: {installed})") from None


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
    tmp: Path,
    path: Path,
    values: Mapping[str, Any],
    preset: str | None,
    out: Path,
    seconds: float,
    spent: Mapping[str, float] | None = None,
) -> None:
    """Put the exact ``advgeom run`` command (and the run's metadata: total seconds, ``spent`` per timing
    category) into the executed notebook."""
    import nbformat

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
    collapse_parameter_cells(nb)
    nb.metadata[METADATA_KEY] = {"stem": path.stem, "preset": preset, "parameters": dict(values),
                                 "command": command, "seconds": round(seconds, 1),
                                 "timing": {k: round(v, 1) for k, v in (spent or {}).items()}}  # fmt: skip
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
    check_kernel(kernel)
    root = repo_root()
    out = Path(out_dir)
    out = out if out.is_absolute() else root / out
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{path.stem}.ipynb"
    failed = out / f"{path.stem}.failed.ipynb"

    nb = read_notebook(path)
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
    start = time.perf_counter()
    try:
        with _interrupt_stops_kernel(), _timing_file() as ledger, _book_environment(path.stem, ledger), \
                _private_kernel_transport() as kernel_config:  # fmt: skip
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
            spent = read_ledger(ledger)
        _add_rerun_note(tmp, path, values, preset, out, time.perf_counter() - start, spent)
        _make_readable(tmp)
        os.replace(tmp, target)
    except (KeyboardInterrupt, Terminated):
        _keep_failed(tmp, failed)  # the cells that ran, for a look; the good page is untouched
        raise
    except Exception as err:
        kept = f"; the failed notebook is kept at {failed}" if _keep_failed(tmp, failed) else ""
        raise NotebookExecutionError(f"notebook {path.stem} failed: {_describe_failure(err)}{kept}") from err
    finally:
        tmp.unlink(missing_ok=True)
    seconds = time.perf_counter() - start
    failed.unlink(missing_ok=True)  # a stale failure report would mislead
    _record_timing(key, seconds)
    if progress:
        print(f"[advgeom] {path.stem} done in {seconds:.0f} s -> {target}", flush=True)
        print(f"[advgeom]   time {timing_line(path.stem, seconds, spent)}", flush=True)
    return target


@contextlib.contextmanager
def _timing_file() -> Iterator[Path]:
    """A fresh temporary file for the kernel's timing ledger (:mod:`advgeom.timing`), removed afterwards."""
    fd, name = tempfile.mkstemp(prefix="advgeom-timing-", suffix=".json")
    os.close(fd)
    path = Path(name)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def _book_environment(stem: str, timing: Path | None = None) -> Iterator[None]:
    """``ADVGEOM_BOOK=1``, ``ADVGEOM_CHAPTER=<stem>``, ``ADVGEOM_TIMING_FILE=<timing>`` (when given) and the
    thread count (:func:`advgeom.threads.decide_threads`, as ``$OMP_NUM_THREADS`` and the like) while the kernel
    starts and runs; restored after."""
    from advgeom.threads import decide_threads, thread_environment

    values = {BOOK_ENV: "1", CHAPTER_ENV: stem, **({TIMING_ENV: str(timing)} if timing is not None else {})}
    threads = decide_threads().threads
    if threads is not None:
        values.update(thread_environment(threads))
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _private_kernel_transport() -> Iterator[dict[str, Any]]:
    """Engine options that connect to the kernel over Unix sockets in a private temporary folder.

    The default transport is TCP on localhost, where other local users could listen in (ipykernel
    warns on every start). On POSIX systems the kernel's sockets and its connection file go to a folder
    only this user can read, ``advgeom-kernel-<pid>-*`` in the temporary directory (:func:`kernel_folder_root`),
    removed afterwards;
    folders left by runs whose process is gone (killed) are removed when the next run starts
    (:func:`remove_stale_kernel_folders`). Elsewhere (Windows has no IPC transport) nothing changes.
    """
    if os.name != "posix":
        yield {}
        return
    from traitlets.config import Config

    remove_stale_kernel_folders()
    folder = tempfile.mkdtemp(prefix=f"{KERNEL_FOLDER_PREFIX}{os.getpid()}-", dir=kernel_folder_root())  # mode 0700
    kernel = {"transport": "ipc", "ip": os.path.join(folder, "kernel"),
              "connection_file": os.path.join(folder, "connection.json")}  # fmt: skip
    try:
        yield {"config": Config({"KernelManager": kernel})}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def kernel_folder_root() -> str:
    """Where a run's kernel folder goes: the temporary directory, or :data:`FALLBACK_KERNEL_ROOT` when the
    kernel's socket paths under it could exceed :data:`SOCKET_PATH_MAX` bytes (a deep ``$TMPDIR``, a test's
    temporary folder) and would not connect. Decided for the longest process id, so every process agrees."""
    root = tempfile.gettempdir()
    longest = os.path.join(root, f"{KERNEL_FOLDER_PREFIX}{'9' * 7}-{'x' * 8}", "kernel-99")
    return root if len(os.fsencode(longest)) <= SOCKET_PATH_MAX else FALLBACK_KERNEL_ROOT


def remove_stale_kernel_folders(root: str | os.PathLike[str] | None = None) -> list[Path]:
    """Remove the kernel folders ``advgeom-kernel-<pid>-*`` of this user in ``root`` (default: where kernel
    folders go, :func:`kernel_folder_root`) whose process is gone; return them. Folders of live runs and of
    other users are left alone."""
    removed = []
    for folder in Path(root or kernel_folder_root()).glob(f"{KERNEL_FOLDER_PREFIX}*"):
        pid = folder.name[len(KERNEL_FOLDER_PREFIX) :].split("-", 1)[0]
        try:
            mine = folder.is_dir() and not folder.is_symlink() and folder.stat().st_uid == os.getuid()
        except OSError:
            continue
        if mine and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


@contextlib.contextmanager
def _interrupt_stops_kernel() -> Iterator[None]:
    """While executing: Ctrl-C (SIGINT) and SIGTERM kill the kernel processes this runner started, then raise
    ``KeyboardInterrupt`` / :class:`Terminated`. Without it, papermill may wait for a busy kernel to finish
    its cell before the interrupt is seen (minutes, in a long training cell)."""
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
        raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
