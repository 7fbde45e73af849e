"""Where a process's time goes: a ledger of wall seconds per category (training, attacks, geometry).

The science's entry points run inside :func:`timed` (``train_model``: ``training``; ``pgd``, ``fgsm``,
``example_scores`` and ``robust_scores``: ``attacks``; ``manifold_analysis``: ``geometry``). Only the
outermost timed block of a thread counts: nested blocks (the scoring inside ``robust_scores``, the
attack inside adversarial training, which stays ``training``) add nothing, so the categories never
overlap and their sum never exceeds the wall time. A result served from a cache never enters a
timed block and costs nothing here.

When the environment variable :data:`TIMING_ENV` names a file (the book's runner sets it for each
chapter's kernel), the ledger is written there as JSON, atomically, each time an outermost block
ends; :func:`read_ledger` reads it back. The process that finds the variable (on import, or at its
next timed block) takes it out of the environment and alone writes the file: processes it starts
(Dask workers, data-loader workers, forked or spawned) never write over its ledger. GPU work still
queued when a block ends is counted by the block that waits for it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

CATEGORIES = ("training", "attacks", "geometry")
TIMING_ENV = "ADVGEOM_TIMING_FILE"
"""A path: the process writes its ledger there (JSON, ``{category: seconds}``) after each timed block."""

F = TypeVar("F", bound=Callable[..., Any])

_lock = threading.Lock()
_seconds: dict[str, float] = dict.fromkeys(CATEGORIES, 0.0)
_inside = threading.local()  # .depth: timed blocks open in this thread
_target: tuple[str, int] | None = None  # (the ledger file, the pid of the process that writes it)


def _claim() -> None:
    """Take the ledger file from :data:`TIMING_ENV` (removing the variable) for this process."""
    global _target
    path = os.environ.pop(TIMING_ENV, None)
    if path:
        _target = (path, os.getpid())


_claim()  # on import, before this process starts others


def _check_category(category: str) -> str:
    if category not in CATEGORIES:
        raise ValueError(f"timing category {category!r} is unknown; choose from {list(CATEGORIES)}")
    return category


@contextlib.contextmanager
def _block(category: str) -> Iterator[None]:
    depth = getattr(_inside, "depth", 0)
    _inside.depth = depth + 1
    start = time.perf_counter()
    try:
        yield
    finally:
        _inside.depth = depth
        if depth == 0:
            with _lock:
                _seconds[category] += time.perf_counter() - start
            _publish()


class timed:  # lower case: used as a decorator, like a function
    """``with timed("attacks"): ...`` or ``@timed("attacks")``: add the block's wall time to ``category``
    of the ledger, unless it runs inside another timed block (then the outer one counts it)."""

    def __init__(self, category: str) -> None:
        self.category = _check_category(category)
        self._blocks: list[contextlib.AbstractContextManager[None]] = []

    def __enter__(self) -> None:
        block = _block(self.category)
        block.__enter__()
        self._blocks.append(block)

    def __exit__(self, *exc: Any) -> None:
        self._blocks.pop().__exit__(*exc)

    def __call__(self, fn: F) -> F:
        category = self.category

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _block(category):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def ledger() -> dict[str, float]:
    """Seconds per category so far in this process (every category, 0.0 when none ran)."""
    with _lock:
        return dict(_seconds)


def reset() -> None:
    """Set every category back to 0 seconds and forget the ledger file (if one was claimed)."""
    global _target
    with _lock:
        for name in _seconds:
            _seconds[name] = 0.0
        _target = None


def write_ledger(path: str | os.PathLike[str], seconds: Mapping[str, float] | None = None) -> None:
    """Write ``seconds`` (default: :func:`ledger`) to ``path`` as JSON, atomically (a reader sees the old
    file or the new one, never half of one)."""
    from advgeom.cache import atomic_write_text

    values = ledger() if seconds is None else seconds
    atomic_write_text(path, json.dumps({k: round(float(v), 3) for k, v in values.items()}))


def _publish() -> None:
    """Write the ledger to the file this process claimed from :data:`TIMING_ENV`, if any (errors are ignored:
    the timing must never break the work it measures)."""
    _claim()
    target = _target
    if target is not None and target[1] == os.getpid():
        with contextlib.suppress(OSError):
            write_ledger(target[0])


def read_ledger(path: str | os.PathLike[str]) -> dict[str, float]:
    """The ledger written to ``path``: every category, 0.0 for those absent; all 0.0 when the file is missing
    or unreadable (a chapter that timed nothing writes no file)."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    out = {}
    for name in CATEGORIES:
        value = data.get(name, 0.0)
        out[name] = float(value) if isinstance(value, (int, float)) and value >= 0 else 0.0
    return out


def _duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    return f"{seconds:.0f} s" if seconds < 600 else f"{seconds / 60:.0f} min"


def timing_line(name: str, total: float, seconds: Mapping[str, float]) -> str:
    """One line: ``name``'s total wall time and its share per category, the rest as ``other``."""
    parts = [f"{c} {_duration(seconds.get(c, 0.0))}" for c in CATEGORIES]
    other = max(0.0, total - sum(seconds.get(c, 0.0) for c in CATEGORIES))
    return f"{name}: {_duration(total)} ({', '.join(parts)}, other {_duration(other)})"


def timing_table(rows: Mapping[str, tuple[float, Mapping[str, float]]]) -> str:
    """A plain-text table, one row per name: total wall seconds, seconds per category, ``other`` (the rest:
    kernel start, data, plots, cache reads) and a total row."""
    head = ["chapter", "total s", *(f"{c} s" for c in CATEGORIES), "other s"]
    body = []
    sums = [0.0] * (len(head) - 1)
    for name, (total, seconds) in rows.items():
        values = [total, *(seconds.get(c, 0.0) for c in CATEGORIES)]
        values.append(max(0.0, total - sum(values[1:])))
        sums = [a + b for a, b in zip(sums, values, strict=True)]
        body.append([name, *(f"{v:.1f}" for v in values)])
    body.append(["all", *(f"{v:.1f}" for v in sums)])
    width = max(len(head[0]), *(len(r[0]) for r in body))
    lines = ["  ".join([head[0].ljust(width), *(h.rjust(11) for h in head[1:])])]
    lines += ["  ".join([r[0].ljust(width), *(v.rjust(11) for v in r[1:])]) for r in body]
    return "\n".join(lines)
