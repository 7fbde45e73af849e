"""Shared test fixtures, and the session's thread pools sized to the free cores."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from advgeom.threads import ThreadChoice, configure_threads

_THREADS = pytest.StashKey[ThreadChoice]()


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
