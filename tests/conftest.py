"""Shared test fixtures, the session's thread pools sized to the free cores, and the chapters' tiny executions
run in the background while the rest of the suite runs."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from advgeom.threads import ThreadChoice, configure_threads, decide_threads, set_threads, thread_environment

_THREADS = pytest.StashKey[ThreadChoice]()
ROOT = Path(__file__).resolve().parents[1]
CHAPTERS_DIR = ROOT / "tests" / "chapters"
# run after the chapters' tests, when the background runs are over (in a distributed run: first, on the workers
# that do not execute chapters): headless Chromium beside a chapter run took
# 85 s for one test, 20 s without
AFTER_CHAPTERS = {ROOT / "tests" / "book" / "test_browser_check.py"}
CHAPTERS_ENV = "ADVGEOM_TEST_CHAPTERS"  # "serial": each chapter test module runs its chapter itself, in turn
# the order of the background runs: chapter 03's tiny run reuses the networks chapter 01's trains (one cache)
CHAPTER_ORDER = ("01_vision_geometry", "03_tradeoff", "04_methods", "02_auditory_generalization", "00_capacity_theory")


# pytest-xdist: each group of chapters executes in turn on one worker (chapter 03 reuses 01's networks), the
# groups about equally long
CHAPTER_GROUPS = (
    ("01_vision_geometry", "03_tradeoff"),
    ("04_methods", "02_auditory_generalization", "00_capacity_theory"),
)


def _worker() -> bool:
    """Whether this process is a pytest-xdist worker."""
    return "PYTEST_XDIST_WORKER" in os.environ


def _workers(config: pytest.Config) -> int:
    """The number of pytest-xdist workers this (controller) process distributes the tests to; 0 when it runs
    them itself."""
    distributed = config.getoption("dist", "no") != "no" and bool(config.getoption("tx", None))
    return len(config.getoption("tx")) if distributed and not _worker() else 0


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker per core other processes leave free, and at least two (one of them runs the
    chapters' executions, the others the rest of the suite)."""
    return max(2, decide_threads().threads or os.cpu_count() or 1)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Size torch's and BLAS's pools to the cores other processes leave free (:mod:`advgeom.threads`), and
    export the choice, so notebook kernels and subprocesses the tests start inherit it; a controller of
    pytest-xdist workers shares those cores among the workers, which inherit their share."""
    choice = configure_threads()
    session.config.stash[_THREADS] = choice
    workers = _workers(session.config)
    if workers:  # before xdist starts the workers (its sessionstart runs last)
        _share_threads(max(1, (choice.threads or 1) // workers))


def pytest_report_header(config: pytest.Config) -> str | None:
    choice = config.stash.get(_THREADS, None)
    return f"advgeom: {choice.describe()}" if choice else None


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point advgeom's cache at a per-session temporary folder so tests never touch the user's cache.

    Session-scoped, so it is in place before module-scoped fixtures (the executed notebooks) run.
    """
    root = tmp_path_factory.getbasetemp() / "advgeom-cache"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ADVGEOM_CACHE", str(root))
        yield


def _chapter_of(item: pytest.Item) -> str | None:
    """The chapter whose tiny execution ``item`` checks (``tests/chapters/test_<stem>.py`` with an ``executed``
    fixture), else None."""
    path = Path(str(item.fspath))
    if path.parent != CHAPTERS_DIR or "executed" not in getattr(item, "fixturenames", ()):
        return None
    stem = path.stem.removeprefix("test_")
    return stem if stem in CHAPTER_ORDER else None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests of the chapters' executions go last but for :data:`AFTER_CHAPTERS`, in the order the background
    runs finish: while those run, the rest of the suite uses the other core (:class:`ChapterRuns`).

    In a pytest-xdist worker (``--dist loadgroup``) they go first instead, in the groups of
    :data:`CHAPTER_GROUPS` (each executes its chapters in turn on the worker it lands on, while the other
    workers run the rest, :data:`AFTER_CHAPTERS` first); every other test module is a group of its own, so its
    module fixtures (trained networks) are built once."""
    rank = {stem: i for i, stem in enumerate(CHAPTER_ORDER)}
    distributed = _worker()

    def order(item: pytest.Item) -> tuple[int, int]:
        if Path(str(item.fspath)) in AFTER_CHAPTERS:
            return (0 if distributed else 2, 0)
        stem = _chapter_of(item)
        if stem is None:
            return (1 if distributed else 0, 0)
        return (-1 if distributed else 1, rank[stem])

    items.sort(key=order)
    if distributed:
        group_of = {stem: f"chapters-{i}" for i, stems in enumerate(CHAPTER_GROUPS) for stem in stems}
        for item in items:
            stem = _chapter_of(item)
            group = group_of[stem] if stem is not None else str(item.path.relative_to(ROOT))
            item.add_marker(pytest.mark.xdist_group(group))


class ChapterRuns:
    """The chapters' tiny executions (``advgeom run <stem> --preset tiny``), one after another in a background
    process with ``threads`` threads, started at the beginning of the session; :meth:`path` waits for one.
    ``give_back``: the threads the suite gets back once the runs are over (None once given back).

    The environment is taken once, at the start (tests change ``os.environ`` for themselves while these run).
    A run that fails fails the tests that need it, with the tail of its log.
    """

    def __init__(self, stems: list[str], out_root: Path, threads: int, give_back: int | None = None) -> None:
        self.out_root, self._env = out_root, {**os.environ, **thread_environment(threads)}
        self.give_back = give_back
        self._done = {stem: threading.Event() for stem in stems}
        self._results: dict[str, Path | str] = {}
        self._process: subprocess.Popen | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run_all, args=(stems,), daemon=True)
        self._thread.start()

    def _run_all(self, stems: list[str]) -> None:
        for stem in stems:
            out = self.out_root / stem
            out.mkdir(parents=True, exist_ok=True)
            log = out / "run.log"
            cmd = [sys.executable, "-m", "advgeom", "run", stem, "--preset", "tiny", "--out", str(out), "--quiet"]
            returncode = -1
            with open(log, "w") as f:
                if not self._closed:
                    self._process = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=self._env, cwd=ROOT)
                    returncode = self._process.wait()
            target = out / f"{stem}.ipynb"
            ok = not self._closed and returncode == 0 and target.exists()
            self._results[stem] = target if ok else f"`{' '.join(cmd[1:])}` failed:\n{log.read_text()[-4000:]}"
            self._done[stem].set()

    def scheduled(self, stem: str) -> bool:
        return stem in self._done

    def running(self) -> bool:
        return self._thread.is_alive()

    def path(self, stem: str) -> Path:
        """The executed notebook of ``stem``, once its run has finished; a failed run fails the calling test."""
        self._done[stem].wait()
        result = self._results[stem]
        if isinstance(result, str):
            pytest.fail(result, pytrace=False)
        return result

    def close(self) -> None:
        """Stop the runs (the session ends early: ``-x``, Ctrl-C)."""
        self._closed = True
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
        self._thread.join(timeout=30)


_RUNS = pytest.StashKey[ChapterRuns]()


@pytest.fixture(autouse=True, scope="session")
def _chapter_runs_in_background(
    request: pytest.FixtureRequest, _isolated_cache: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Start the background runs of the chapters this session tests, and split the cores between them and the
    suite (half each, at least one) until they finish; then the suite gets its threads back."""
    mode = os.environ.get(CHAPTERS_ENV, "background")
    if mode not in ("background", "serial"):
        raise pytest.UsageError(f"${CHAPTERS_ENV}={mode!r} is not allowed; use background (default) or serial")
    stems = [s for s in CHAPTER_ORDER if s in {_chapter_of(item) for item in request.session.items}]
    if not stems or mode == "serial" or _worker():  # a worker runs the chapters in turn, in their group
        yield
        return
    choice = request.config.stash.get(_THREADS, None)
    total = (choice.threads if choice else None) or 1
    background = max(1, total // 2)
    runs = ChapterRuns(stems, tmp_path_factory.mktemp("chapters"), background, give_back=choice and choice.threads)
    request.config.stash[_RUNS] = runs
    _share_threads(max(1, total - background))
    try:
        yield
    finally:
        runs.close()


def _share_threads(threads: int) -> None:
    set_threads(threads)
    os.environ.update(thread_environment(threads))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Once the background runs are over, the suite gets back the threads it was given at the start."""
    runs = item.config.stash.get(_RUNS, None)
    if runs is not None and runs.give_back and not runs.running():
        _share_threads(runs.give_back)
        runs.give_back = None


@pytest.fixture(scope="session")
def chapter_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """``chapter_run(stem)``: the path of ``stem``'s tiny execution, from the background runs when this session
    scheduled one, else run now."""
    from advgeom.book import execute

    def get(stem: str) -> Path:
        runs = request.config.stash.get(_RUNS, None)
        if runs is not None and runs.scheduled(stem):
            return runs.path(stem)
        return execute.run_notebook(stem, preset="tiny", out_dir=tmp_path_factory.mktemp(stem), progress=False)

    return get
