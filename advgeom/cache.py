"""On-disk caches and checkpoints: keyed by their parameters, written atomically, checked when read.

Every artefact that takes time to compute (trained models, synthesised corpora, measurements,
accuracies) is stored under ``cache_dir()`` at a path derived from a hash of *all* the parameters
that shape it (its *key*), and written to a temporary file that is renamed into place only once
complete, so an interrupted run never leaves a half file that a later run would read as good.

Every cache file is an *entry* (:func:`encode_entry`): one header line ``advgeom-cache 1 {json}``
recording the sha256 and the length of the payload and the canonical key it was computed from, then
the payload bytes (a CSV table, a torch checkpoint, an npz archive, a number). Reading
(:func:`read_entry`) checks all three (and that the key is the one asked for) before anything decodes
the payload. :func:`cached` and :func:`load_entry` report an entry that fails (truncated, edited,
another key, a folder where the file should be, a payload its decoder refuses) in one warning line
naming the file and the reason, move it aside to ``<name>.damaged`` (the last one is kept) and
recompute it: a damaged entry is never used, and never deleted unseen.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
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


ENTRY_MAGIC = b"advgeom-cache 1 "  # the start of every cache file; the number is the envelope's format
DAMAGED_SUFFIX = ".damaged"


class DamagedEntry(ValueError):
    """A cache file that fails its checks; the message says why."""


def _digest(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def _header(key: Mapping[str, Any], payload: bytes) -> bytes:
    header = {"key": _canonical(key), "length": len(payload), "sha256": _digest(payload)}
    return ENTRY_MAGIC + json.dumps(header, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def encode_entry(key: Mapping[str, Any], payload: bytes) -> bytes:
    """The bytes of a cache entry: the header line (sha256, length, canonical key) and the payload."""
    return _header(key, payload) + payload


def decode_entry(data: bytes, key: Mapping[str, Any]) -> bytes:
    """The payload of the entry ``data`` after checking its header: length, checksum and key (``key``).

    Raises :class:`DamagedEntry` naming what failed.
    """
    if not data.startswith(ENTRY_MAGIC):
        raise DamagedEntry("it has no advgeom cache header (another format, or written by an older version)")
    end = data.find(b"\n")
    try:
        header = json.loads(data[len(ENTRY_MAGIC) : end]) if end > 0 else None
    except ValueError:
        header = None
    if not isinstance(header, dict) or set(header) != {"key", "length", "sha256"}:
        raise DamagedEntry("its header is damaged")
    payload = data[end + 1 :]
    if len(payload) != header["length"]:
        raise DamagedEntry(f"it holds {len(payload)} payload bytes, its header {header['length']} (truncated or cut)")
    if _digest(payload) != header["sha256"]:
        raise DamagedEntry("its payload does not match its checksum (edited or corrupted)")
    if canonical_json(header["key"]) != canonical_json(key):
        raise DamagedEntry("it was computed from another key (copied or moved here from another entry)")
    return payload


def write_entry(path: str | os.PathLike[str], key: Mapping[str, Any], payload: bytes) -> None:
    """Write the entry of ``payload`` computed from ``key`` to ``path``, atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(_header(key, payload))
        f.write(payload)


def read_entry(path: str | os.PathLike[str], key: Mapping[str, Any]) -> bytes:
    """The checked payload of the entry at ``path`` (:func:`decode_entry`). A missing file raises
    FileNotFoundError; a folder or an unreadable file :class:`DamagedEntry`."""
    path = Path(path)
    if path.is_dir():
        raise DamagedEntry("a folder stands where the file should be")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as err:
        raise DamagedEntry(f"it cannot be read ({err.strerror or err})") from err
    return decode_entry(data, key)


def set_aside(path: str | os.PathLike[str], reason: str) -> Path:
    """Move a damaged cache file (or folder) ``path`` to ``<path>.damaged`` (replacing an older one) and warn,
    in one line naming the file and ``reason``; return where it went."""
    path = Path(path)
    aside = path.with_name(path.name + DAMAGED_SUFFIX)
    if aside.is_dir() and not aside.is_symlink():
        shutil.rmtree(aside)
    elif os.path.lexists(aside):
        aside.unlink()
    os.replace(path, aside)
    reason = " ".join(reason.split())
    warnings.warn(f"cache file {path} is unreadable: {reason}; moved aside to {aside.name}, recomputing it",
                  stacklevel=3)  # fmt: skip
    return aside


_MISSING = object()


def load_entry(path: str | os.PathLike[str], key: Mapping[str, Any], decode: Callable[[bytes], T]) -> T | None:
    """``decode`` of the checked payload at ``path``; None when there is none, or when the entry fails its
    checks or its decoding (then it is set aside, with a warning: :func:`set_aside`)."""
    found = _load(Path(path), key, decode)
    return None if found is _MISSING else found  # type: ignore[return-value]


def _load(path: Path, key: Mapping[str, Any], decode: Callable[[bytes], Any]) -> Any:
    if not os.path.lexists(path):
        return _MISSING
    try:
        return decode(read_entry(path, key))
    except FileNotFoundError:
        return _MISSING
    except Exception as err:  # noqa: BLE001 - any failure to check or decode means "not a good cache entry"
        set_aside(path, str(err) if isinstance(err, DamagedEntry) else f"{type(err).__name__}: {err}")
        return _MISSING


def cached(
    path: Path,
    key: Mapping[str, Any],
    compute: Callable[[], T],
    encode: Callable[[T], bytes],
    decode: Callable[[bytes], T],
) -> T:
    """The value of the entry at ``path`` if it is good (:func:`load_entry`), else ``compute()``'s, stored.

    ``key`` is what the value is computed from (recorded in the entry and checked on reading),
    ``encode`` / ``decode`` turn the value into the payload and back. A fresh value is returned as
    it reads back (``decode(encode(value))``), so fresh and cached results are identical.
    """
    found = _load(path, key, decode)
    if found is not _MISSING:
        return found
    payload = encode(compute())
    value = decode(payload)  # a value its own decoder refuses is never stored
    write_entry(path, key, payload)
    return value
