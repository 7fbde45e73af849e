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

from advgeom.threads import ThreadChoice, configure_threads, set_threads, thread_environment

_THREADS = pytest.StashKey[ThreadChoice]()
ROOT = Path(__file__).resolve().parents[1]
CHAPTERS_DIR = ROOT / "tests" / "chapters"
# run after the chapters' tests, when the background runs are over: headless Chromium beside a chapter run took
# 85 s for one test, 20 s without
AFTER_CHAPTERS = {ROOT / "tests" / "book" / "test_browser_check.py"}
CHAPTERS_ENV = "ADVGEOM_TEST_CHAPTERS"  # "serial": each chapter test module runs its chapter itself, in turn
# the order of the background runs: chapter 03's tiny run reuses the networks chapter 01's trains (one cache)
CHAPTER_ORDER = ("01_vision_geometry", "03_tradeoff", "04_methods", "02_auditory_generalization", "00_capacity_theory")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Size torch's and BLAS's pools to the cores other processes leave free (:mod:`advgeom.threads`), and
    export the choice, so notebook kernels and subprocesses the tests start inherit it."""
    session.config.stash[_THREADS] = configure_threads()


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


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests of the chapters' executions go last but for :data:`AFTER_CHAPTERS`, in the order the background
    runs finish: while those run, the rest of the suite uses the other core (:class:`ChapterRuns`)."""
    rank = {stem: i for i, stem in enumerate(CHAPTER_ORDER)}

    def order(item: pytest.Item) -> tuple[int, int]:
        if Path(str(item.fspath)) in AFTER_CHAPTERS:
            return (2, 0)
        stem = _chapter_of(item)
        return (0, -1) if stem is None else (1, rank[stem])

    items.sort(key=order)


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
    if not stems or mode == "serial":
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
