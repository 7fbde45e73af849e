"""Shared test fixtures, and the session's thread pools sized to the free cores."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from advgeom.threads import ENV, ThreadChoice, available_cores, configure_threads, decide_threads

_THREADS = pytest.StashKey[ThreadChoice]()


def _workers(config: pytest.Config) -> int:
    """The number of pytest-xdist worker processes this (controlling) session starts; 0 without xdist."""
    if hasattr(config, "workerinput"):  # a worker itself
        return 0
    n = getattr(config.option, "numprocesses", None)
    return n if isinstance(n, int) and getattr(config.option, "dist", "no") != "no" else 0


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (what ``make test`` passes): one worker per core other processes leave free, measured as
    :mod:`advgeom.threads` measures it (at least one), so a busy machine gets fewer workers, not thrashing."""
    choice = decide_threads()
    return choice.threads or available_cores()


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Size torch's and BLAS's pools to the cores other processes leave free (:mod:`advgeom.threads`), and
    export the choice, so notebook kernels and subprocesses the tests start inherit it. With xdist workers,
    the free cores are shared out among them (exported before they start: each worker inherits its share)."""
    workers = _workers(session.config)
    if workers:
        free = decide_threads().threads or available_cores()
        os.environ[ENV] = str(max(1, free // workers))
    session.config.stash[_THREADS] = configure_threads()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``--dist loadgroup`` a test file's tests stay on one worker (its module-scoped fixtures, a trained
    model or an executed chapter, are built once), unless the file names a group shared with another file
    (``pytestmark = pytest.mark.xdist_group(...)``: the chapters whose tiny networks are the same)."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.path.as_posix()))


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
