"""Snapshot and compare the numbers every chapter glues into its prose, at named presets.

A restructuring of the package must not move a number. Run this before and after it, each time
with an empty cache (so every network is retrained and every analysis recomputed by the code
under test), and compare:

    python benchmarks/glued_values.py snapshot before.json --cache /tmp/cache-before
    ... restructure ...
    python benchmarks/glued_values.py snapshot after.json --cache /tmp/cache-after
    python benchmarks/glued_values.py compare before.json after.json

``snapshot`` executes each chapter (default: every notebook in ``notebooks/``) at each preset
(default: ``tiny`` and ``classroom``) with ``advgeom run --preset P --out TMP`` and records its
glued values: numbers and strings, not figures or tables (``fig_*``, ``tbl_*``), and not the
wall-clock times (``train_s_*``, ``runtime_*``), which are measurements of the machine, not results.
A chapter whose own assertion fails is recorded with its partial values and the error (key
``__failed__``), so a restructuring must reproduce the failure too. ``compare`` prints every value
that differs (relative tolerance ``--rtol``, default exact) and exits 1 if any does, or if a
chapter, preset or key is missing on one side.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIPPED_PREFIXES = ("fig_", "tbl_", "train_s_", "runtime_")
FAILED = "__failed__"  # the error of a chapter whose own assertion failed


def glued_numbers(executed: Path) -> dict[str, object]:
    """The glued values of an executed notebook that are results (see the module docstring)."""
    import nbformat

    values: dict[str, object] = {}
    for cell in nbformat.read(executed, as_version=4).cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if not name or name.startswith(SKIPPED_PREFIXES):
                continue
            text = output.get("data", {}).get("application/papermill.record/text/plain", "")
            try:
                values[name] = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                values[name] = text
    return values


def chapters() -> list[str]:
    return sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9]*.py"))


def snapshot(out: Path, notebooks: list[str], presets: list[str], cache: str | None) -> None:
    env = dict(os.environ)
    if cache:
        env["ADVGEOM_CACHE"] = cache
    advgeom = [sys.executable, "-m", "advgeom"]
    result: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="advgeom-glue-") as tmp:
        for preset in presets:
            for stem in notebooks:
                folder = Path(tmp) / preset
                start = time.perf_counter()
                cmd = [*advgeom, "run", stem, "--preset", preset, "--out", str(folder), "--quiet"]
                proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
                seconds = time.perf_counter() - start
                executed = folder / f"{stem}.ipynb"
                values: dict[str, object] = {}
                if proc.returncode != 0:
                    # a chapter whose own check fails keeps its partial output: record its values and the
                    # failure (a restructuring must reproduce both); any other failure stops the snapshot
                    executed = folder / f"{stem}.failed.ipynb"
                    reason = re.search(r"failed: (.*?) \(in cell", proc.stderr)
                    if not executed.exists() or reason is None:
                        sys.exit(f"{stem} --preset {preset} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
                    values[FAILED] = reason.group(1)
                values.update(glued_numbers(executed))
                result[f"{stem}:{preset}"] = values
                state = f"FAILED ({values[FAILED]})" if FAILED in values else "ok"
                print(f"{stem} --preset {preset}: {len(values)} glued values in {seconds:.0f} s, {state}", flush=True)
    out.write_text(json.dumps(result, indent=1, sort_keys=True))
    print(f"wrote {out}")


def same(a: object, b: object, rtol: float) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if math.isnan(a) and math.isnan(b):
            return True
        return a == b or math.isclose(a, b, rel_tol=rtol, abs_tol=0.0)
    return a == b


def compare(before: Path, after: Path, rtol: float) -> int:
    a, b = json.loads(before.read_text()), json.loads(after.read_text())
    problems = []
    for run in sorted(set(a) | set(b)):
        if run not in a or run not in b:
            problems.append(f"{run}: only in {'after' if run in b else 'before'}")
            continue
        for key in sorted(set(a[run]) | set(b[run])):
            if key.startswith(SKIPPED_PREFIXES):  # snapshots taken before a prefix was skipped
                continue
            if key not in a[run] or key not in b[run]:
                problems.append(f"{run} {key}: only in {'after' if key in b[run] else 'before'}")
            elif not same(a[run][key], b[run][key], rtol):
                problems.append(f"{run} {key}: {a[run][key]!r} -> {b[run][key]!r}")
    n = sum(1 for v in a.values() for k in v if not k.startswith(SKIPPED_PREFIXES))
    if problems:
        print("\n".join(problems))
        print(f"{len(problems)} difference(s) over {n} values in {len(a)} runs")
        return 1
    print(f"identical: {n} values in {len(a)} runs (rtol {rtol:g})")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_snap = sub.add_parser("snapshot", help="run chapters at presets and write their glued values to a JSON file")
    p_snap.add_argument("out", type=Path)
    p_snap.add_argument("--notebooks", nargs="+", default=None, help="default: every chapter")
    p_snap.add_argument("--presets", nargs="+", default=["tiny", "classroom"])
    p_snap.add_argument("--cache", default=None, help="ADVGEOM_CACHE for the runs (use an empty folder)")
    p_cmp = sub.add_parser("compare", help="compare two snapshots; exit 1 on any difference")
    p_cmp.add_argument("before", type=Path)
    p_cmp.add_argument("after", type=Path)
    p_cmp.add_argument("--rtol", type=float, default=0.0)
    args = parser.parse_args()
    if args.command == "snapshot":
        snapshot(args.out, args.notebooks or chapters(), args.presets, args.cache)
        return 0
    return compare(args.before, args.after, args.rtol)


if __name__ == "__main__":
    sys.exit(main())
