"""Thread pools sized to the free cores: torch's and BLAS's, here and in the processes started from here.

Two processes whose pools each take every core thrash: OpenMP and BLAS workers spin waiting for cores
the other process holds, and both run several times slower than they would taking turns. So the number
of threads is the cores this process may run on (``os.sched_getaffinity``) less those other processes
keep busy (sampled from ``/proc/stat`` over a fraction of a second, this process's own CPU time taken
out; the 1-minute load average where there is no ``/proc``), rounded half down, at least 1.

``$ADVGEOM_THREADS`` decides instead: a positive integer, ``auto`` (measure, even when
``$OMP_NUM_THREADS`` is set) or ``off`` (leave torch's and BLAS's own defaults, as before this module).
Unset, an explicit ``$OMP_NUM_THREADS`` is respected. :func:`configure_threads` exports the choice
(:data:`POOL_VARIABLES` and ``$ADVGEOM_THREADS``), so libraries loaded later, notebook kernels and
worker processes inherit it instead of measuring again, and applies it to the libraries already loaded
(``torch.set_num_threads``, ``threadpoolctl``). Entry points call it: the ``advgeom`` command,
the test session; :mod:`advgeom.analysis.sweep` sizes its workers with :func:`decide_threads` and runs
each task under :func:`limited_threads`.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass

ENV = "ADVGEOM_THREADS"
POOL_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
SAMPLE_SECONDS = 0.25


@dataclass(frozen=True)
class ThreadChoice:
    """A decision: ``threads`` (None: sizing off), where it came from, and the measurement if any."""

    threads: int | None
    source: str  # "ADVGEOM_THREADS", "OMP_NUM_THREADS", "measured" or "off"
    cores: int | None = None
    load: float | None = None

    def describe(self) -> str:
        """One line for logs and the test header."""
        if self.threads is None:
            return f"thread sizing off (${ENV}=off): torch and BLAS defaults"
        count = f"{self.threads} thread{'s' if self.threads != 1 else ''}"
        if self.source == "measured":
            return f"{count} ({self.cores} cores, {self.load:.1f} busy with other processes)"
        return f"{count} (from ${self.source})"


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity; ``os.cpu_count()`` where that is unknown)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _cpu_ticks(cpus: set[int], stat: str = "/proc/stat") -> tuple[int, int] | None:
    """(busy, total) clock ticks summed over ``cpus`` from ``stat``; None without it."""
    try:
        with open(stat) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    busy = total = 0
    for line in lines:
        name, *fields = line.split()
        if not (name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus):
            continue
        ticks = [int(v) for v in fields[:8]]  # user nice system idle iowait irq softirq steal
        total += sum(ticks)
        busy += sum(ticks) - ticks[3] - ticks[4]
    return (busy, total) if total else None


def other_load(seconds: float = SAMPLE_SECONDS) -> float:
    """The cores other processes keep busy, of those this process may run on.

    ``/proc/stat`` is read twice ``seconds`` apart; this process's own CPU time in between is
    subtracted. Without ``/proc``: the 1-minute load average (all CPUs), which counts recent work of this
    process too.
    """
    try:
        cpus = os.sched_getaffinity(0)
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cpus = set(range(os.cpu_count() or 1))
    first, own = _cpu_ticks(cpus), time.process_time()
    if first is None:
        return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    time.sleep(seconds)
    second, own = _cpu_ticks(cpus), time.process_time() - own
    if second is None or second[1] <= first[1]:
        return 0.0
    per_cpu = (second[1] - first[1]) / len(cpus)  # ticks one CPU counted in the interval
    busy = (second[0] - first[0]) / per_cpu  # cores busy, ours included
    ours = own * os.sysconf("SC_CLK_TCK") / per_cpu
    return max(0.0, busy - ours)


def threads_for(cores: int, load: float) -> int:
    """Threads for ``cores`` of which ``load`` are busy elsewhere: the free cores, rounded (halves down: one
    thread too many costs more than one too few), at least 1."""
    if cores < 1:
        raise ValueError(f"cores={cores!r} is too small; it must be >= 1")
    if not (math.isfinite(load) and load >= 0):
        raise ValueError(f"load={load!r} is not allowed; it must be a finite number >= 0")
    return max(1, min(cores, math.ceil(cores - load - 0.5)))


def _count(name: str, text: str, allowed: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"${name}={text!r} is not allowed; use {allowed}")
    return value


def decide_threads(
    environ: Mapping[str, str] | None = None, *, cores: int | None = None, load: float | None = None
) -> ThreadChoice:
    """The thread count for this process, from ``environ`` (default ``os.environ``) or measured.

    ``cores`` and ``load`` replace :func:`available_cores` and :func:`other_load` (tests inject them);
    a value of ``$ADVGEOM_THREADS`` or ``$OMP_NUM_THREADS`` that is not allowed raises ValueError naming it.
    """
    env = os.environ if environ is None else environ
    setting = env.get(ENV, "").strip().lower()
    if setting == "off":
        return ThreadChoice(None, "off")
    if setting not in ("", "auto"):
        allowed = "a positive integer, 'auto' (the cores other processes leave free) or 'off' (library defaults)"
        return ThreadChoice(_count(ENV, env[ENV], allowed), ENV)
    omp = env.get("OMP_NUM_THREADS", "").strip()
    if not setting and omp:
        # OpenMP allows a list, one count per nesting level: the first is the pool's
        return ThreadChoice(_count("OMP_NUM_THREADS", omp.split(",")[0], "a positive integer"), "OMP_NUM_THREADS")
    cores = available_cores() if cores is None else cores
    load = other_load() if load is None else load
    return ThreadChoice(threads_for(cores, load), "measured", cores, load)


def thread_environment(threads: int) -> dict[str, str]:
    """The variables that make a child process (kernel, worker) use ``threads`` threads without measuring."""
    return {name: str(threads) for name in (*POOL_VARIABLES, ENV)}


def set_threads(threads: int) -> None:
    """Size torch's intra-op pool (if torch is loaded) and every loaded BLAS and OpenMP library's to
    ``threads``, until changed. Libraries loaded later read :func:`thread_environment` instead."""
    from threadpoolctl import threadpool_limits

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    threadpool_limits(limits=threads)


@contextlib.contextmanager
def limited_threads(threads: int) -> Iterator[None]:
    """torch and BLAS with ``threads`` threads inside the block; the previous sizes restored after."""
    import numpy  # noqa: F401
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        torch.set_num_threads(before)


def configure_threads(environ: MutableMapping[str, str] | None = None) -> ThreadChoice:
    """Decide (:func:`decide_threads`), export (:func:`thread_environment`) and apply (:func:`set_threads`).

    Exported first, so torch and BLAS libraries imported later start with that many threads (nothing is
    imported here: ``advgeom run`` stays light). With sizing off nothing is changed.
    """
    env = os.environ if environ is None else environ
    choice = decide_threads(env)
    if choice.threads is not None:
        env.update(thread_environment(choice.threads))
        set_threads(choice.threads)
    return choice
