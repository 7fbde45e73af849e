"""Shared test fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point advgeom's cache at a per-session temporary folder so tests never touch the user's cache."""
    root = tmp_path_factory.getbasetemp() / "advgeom-cache"
    monkeypatch.setenv("ADVGEOM_CACHE", str(root))
