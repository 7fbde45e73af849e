"""Contention benchmark: a slice of the test suite alone, then beside one busy CPU-bound process.

Usage: python benchmarks/contention.py [--neighbour torch|python] [--no-before] [FILE ...]

Runs the slice (a few short test files heavy on torch and BLAS, :data:`SLICE`) with pytest in a
subprocess, first alone and then while a neighbour keeps the CPUs busy: ``torch`` (default) multiplies
matrices with torch's default thread pool (one per core), the case that thrashed before
:mod:`advgeom.threads`; ``python`` is one single-threaded pure-Python loop. It does both with the
thread sizing on (``$ADVGEOM_THREADS`` unset: the session measures the free cores) and, unless
``--no-before``, switched off (``ADVGEOM_THREADS=off``: torch's and BLAS's defaults, as before), all in
one run, and prints the wall times, the slowdown beside the neighbour against the 2.5x target and the
before/after ratio. A machine already busy when "alone" runs makes every slowdown smaller than on an
idle one: the cores other processes keep busy are printed with each row.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from advgeom.threads import ENV, POOL_VARIABLES, available_cores, other_load

ROOT = Path(__file__).resolve().parents[1]
SLICE = (
    "tests/test_train.py",  # torch: training small nets, adversarially too
    "tests/zoo/test_vision.py",  # torch: the zoo's networks built, trained briefly, cached
    "tests/analysis/test_measurements.py",  # torch and BLAS: representations, geometry
    "tests/geometry/test_mftma.py",  # BLAS: the capacity solver
)
TARGET = 2.5
NEIGHBOURS = {
    "torch": "import torch\na = torch.randn(1024, 1024)\nprint('ready', flush=True)\nwhile True:\n    a @ a\n",
    "python": "print('ready', flush=True)\nn = 0\nwhile True:\n    n = (n * 7 + 1) % 1000003\n",
}


@contextmanager
def neighbour(kind: str | None) -> Iterator[None]:
    """A busy process beside the block (None: none), started before it and killed after."""
    if kind is None:
        yield
        return
    env = {k: v for k, v in os.environ.items() if k not in (*POOL_VARIABLES, ENV)}  # its libraries' defaults
    proc = subprocess.Popen([sys.executable, "-c", NEIGHBOURS[kind]], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(1.0)  # busy for a while before the session measures the load
        yield
    finally:
        proc.kill()
        proc.wait()


def run_slice(files: list[str], sizing: bool) -> float:
    """Wall seconds of one pytest run over ``files``; raises if a test fails."""
    env = {k: v for k, v in os.environ.items() if k not in (*POOL_VARIABLES, ENV)}
    if not sizing:
        env[ENV] = "off"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files], cwd=ROOT, env=env,
                          capture_output=True, text=True)  # fmt: skip
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"the slice failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", default=list(SLICE), help="test files (default: the slice)")
    parser.add_argument("--neighbour", choices=sorted(NEIGHBOURS), default="torch", help="the busy process")
    parser.add_argument("--no-before", action="store_true", help="skip the runs with the thread sizing off")
    args = parser.parse_args()
    modes = [("after (sized)", True)] + ([] if args.no_before else [("before (off)", False)])
    print(f"{available_cores()} cores; slice: {' '.join(args.files)}; neighbour: {args.neighbour}", flush=True)
    print("others: cores busy with other processes (sampled, at most the core count) before each run")
    print(f"{'mode':<15}{'others':>7}{'alone s':>9}{'others':>7}{'busy s':>9}{'slowdown':>10}  target {TARGET}x")
    busy_times = {}
    for label, sizing in modes:
        load_alone = other_load()
        alone = run_slice(args.files, sizing)
        with neighbour(args.neighbour):
            load_busy = other_load()
            busy = run_slice(args.files, sizing)
        busy_times[label] = busy
        verdict = "ok" if busy / alone <= TARGET else "over"
        print(f"{label:<15}{load_alone:>7.1f}{alone:>9.1f}{load_busy:>7.1f}{busy:>9.1f}{busy / alone:>9.2f}x"
              f"  {verdict}", flush=True)  # fmt: skip
    if len(busy_times) == 2:
        before, after = busy_times["before (off)"], busy_times["after (sized)"]
        print(f"beside the neighbour: sizing off {before:.1f} s, sized {after:.1f} s: {before / after:.2f}x faster")


if __name__ == "__main__":
    main()
