"""On-disk caches and checkpoints: keyed by their parameters, written atomically.

Every artefact that takes time to compute (trained models, synthesised corpora,
capacity analyses) is stored under ``cache_dir()`` at a path derived from a hash of
*all* the parameters that shape it, and written to a temporary file that is renamed
into place only once complete, so an interrupted run never leaves a half file that a
later run would read as good.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

CACHE_ENV = "ADVGEOM_CACHE"


def cache_dir() -> Path:
    """Root of the cache: ``$ADVGEOM_CACHE`` or ``~/.cache/advgeom``."""
    root = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "advgeom")
    root.mkdir(parents=True, exist_ok=True)
    return root


def _canonical(value: Any) -> Any:
    """Turn parameters into JSON-stable values (tuples to lists, paths to str, numpy scalars to python)."""
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    raise TypeError(f"cache key parameter of type {type(value).__name__} is not JSON-serialisable: {value!r}")


def canonical_json(value: Any) -> str:
    """``value`` as canonical JSON text: keys sorted, tuples as lists, paths as str, numpy scalars as python,
    no spaces. Two parameter sets are the same exactly when their canonical JSON is the same."""
    return json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"))


def param_key(params: Mapping[str, Any]) -> str:
    """A short stable hash of a parameter mapping (sha256 of :func:`canonical_json`, 16 hex digits)."""
    return hashlib.sha256(canonical_json(params).encode()).hexdigest()[:16]


def cache_path(kind: str, params: Mapping[str, Any], suffix: str) -> Path:
    """Path ``cache_dir()/kind/<key><suffix>`` for an artefact of this kind and parameters."""
    folder = cache_dir() / kind
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{param_key(params)}{suffix}"


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    On any exception the temporary file is removed and ``path`` is left untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write text to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def cached(
    path: Path,
    compute: Callable[[], T],
    save: Callable[[T, Path], None],
    load: Callable[[Path], T],
) -> T:
    """Load ``path`` if it exists and loads cleanly, else compute, save atomically, return.

    A file that fails to load (truncated, corrupt, wrong format) is reported, removed and
    recomputed; it is never returned as good.
    """
    if path.exists():
        try:
            return load(path)
        except Exception as err:  # noqa: BLE001 - any failure to load means "not a good cache"
            import warnings

            warnings.warn(f"cache file {path} is unreadable ({err!r}); recomputing it", stacklevel=2)
            path.unlink(missing_ok=True)
    value = compute()
    with atomic_path(path) as tmp:
        save(value, tmp)
    return value
