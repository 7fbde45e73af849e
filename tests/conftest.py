"""Shared test fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point advgeom's cache at a per-session temporary folder so tests never touch the user's cache.

    Session-scoped, so it is in place before module-scoped fixtures (the executed notebooks) run.
    """
    root = tmp_path_factory.getbasetemp() / "advgeom-cache"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ADVGEOM_CACHE", str(root))
        yield
