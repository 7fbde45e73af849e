"""Test-suite benchmark: the whole suite's wall time against the 5-minute target on 2 idle cores.

Usage: python benchmarks/suite.py [--no-baseline] [PYTEST ARGS ...]

Runs ``pytest`` over the suite in a subprocess as ``make test`` does (``-n auto``: pytest-xdist workers, one
of which runs the chapters' tiny executions while the others run the rest), and, unless ``--no-baseline``,
as a plain ``pytest`` does (one process, the chapters' executions in a background process) and with
``ADVGEOM_TEST_CHAPTERS=serial`` (each chapter test module executes its chapter itself when it comes), so
the ratios are measured in the same run. The cores other processes keep busy are printed before each run:
on a busy machine every time is longer.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from advgeom.threads import available_cores, other_load

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 300.0
# mode: (label, pytest arguments, $ADVGEOM_TEST_CHAPTERS)
MODES = {
    "workers": ("xdist workers (make test)", ["-n", "auto"], "background"),
    "background": ("chapters in the background", [], "background"),
    "serial": ("chapters in turn", [], "serial"),
}


def run_suite(mode: str, extra: list[str]) -> tuple[float, str]:
    """(wall seconds, pytest's summary line) of one run; raises SystemExit if a test fails."""
    _, args, chapters = MODES[mode]
    env = {**os.environ, "ADVGEOM_TEST_CHAPTERS": chapters}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, *extra],
                          cwd=ROOT, env=env, capture_output=True, text=True)  # fmt: skip
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        tail = proc.stdout[-4000:] + proc.stderr[-2000:]
        raise SystemExit(f"the suite failed ({mode}, exit {proc.returncode}):\n{tail}")
    lines = [line for line in proc.stdout.splitlines() if re.search(r"\d+ passed", line)]
    return seconds, (lines[-1].strip("= ") if lines else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-baseline", action="store_true", help="run only as make test does")
    args, extra = parser.parse_known_args()
    modes = ["workers"] + ([] if args.no_baseline else ["background", "serial"])
    print(f"{available_cores()} cores; target {TARGET_S:.0f} s on 2 idle cores", flush=True)
    print(f"{'mode':<30}{'others':>7}{'wall s':>9}  summary")
    times = {}
    for mode in modes:
        load = other_load()
        seconds, summary = run_suite(mode, extra)
        times[mode] = seconds
        verdict = "ok" if seconds <= TARGET_S else "over"
        print(f"{MODES[mode][0]:<30}{load:>7.1f}{seconds:>9.1f}  {summary} [{verdict}]", flush=True)
    for mode in modes[1:]:
        print(f"make test: {times[mode] / times['workers']:.2f}x faster than {MODES[mode][0]}")


if __name__ == "__main__":
    main()
