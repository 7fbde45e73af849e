"""Build the book: ``advgeom book`` executes the chapters and runs ``jupyter-book build`` on the result.

:func:`make_book` vendors the offline assets (:mod:`advgeom.book.assets`), checks every chapter's
parameters and preset before anything runs, executes the chapters (:func:`advgeom.book.execute.run_notebook`)
into ``book/`` and calls :func:`build_book`, which writes the generated pages (:mod:`advgeom.book.pages`)
and fails on any Sphinx warning. At the end it prints where the time went: per chapter run, the total and the
seconds spent in training, attacks and geometry (:mod:`advgeom.timing`), and the build's own time.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from advgeom.book.assets import vendor_assets
from advgeom.book.execute import executed_timing, run_notebook
from advgeom.book.notebooks import (
    NOTEBOOK_GLOB,
    list_notebooks,
    notebooks_dir,
    repo_root,
    resolve_notebook,
    resolve_params,
)
from advgeom.book.pages import write_effective_toc, write_explorer_page, write_glance_page, write_parameters_page
from advgeom.checks import check_output_dir
from advgeom.timing import timing_table


class BookBuildError(RuntimeError):
    """``jupyter-book build`` failed or reported warnings."""


_WARNING_RE = re.compile(r"(WARNING|ERROR|CRITICAL|SEVERE):")
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _jupyter_book() -> str:
    local = Path(sys.executable).parent / "jupyter-book"
    found = str(local) if local.exists() else shutil.which("jupyter-book")
    if not found:
        raise BookBuildError("jupyter-book is not installed; run `pip install -e '.[book]'` (or `make setup`)")
    return found


def build_book(root: str | os.PathLike[str] | None = None, *, clean: bool = True, echo: bool = True) -> Path:
    """``jupyter-book build <root> -W -n --keep-going`` after removing ``<root>/_build``; return the HTML dir.

    Before building it writes ``book/parameters.md`` (:func:`advgeom.book.pages.write_parameters_page`),
    the landing page's summary ``book/_generated/glance.md`` (:func:`~advgeom.book.pages.write_glance_page`),
    the Explorer ``book/explorer.md`` when a chapter published a table (:func:`~advgeom.book.pages.write_explorer_page`)
    and ``_build/_toc.yml``: ``_toc.yml`` without the entries whose page does not exist yet
    (:func:`advgeom.book.pages.effective_toc`), which the build uses. Raises :class:`BookBuildError`
    listing the warnings if the build fails or warns (an incremental build misses ``_static``
    changes, hence the clean).
    """
    root = Path(root).resolve() if root is not None else repo_root()
    build = root / "_build"
    if clean and build.exists():
        shutil.rmtree(build)
    write_parameters_page(root)
    write_glance_page(root)
    write_explorer_page(root)
    toc = build / "_toc.yml"
    dropped = write_effective_toc(root, toc)
    if dropped and echo:
        print(f"[advgeom] note: left out of the table of contents (no page yet): {', '.join(dropped)}", flush=True)
    cmd = [_jupyter_book(), "build", str(root), "--toc", str(toc), "-W", "-n", "--keep-going"]
    if echo:
        print(f"[advgeom] {' '.join(cmd[1:])}", flush=True)
    lines: list[str] = []
    with subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(_ANSI_RE.sub("", line.rstrip("\n")))
            if echo:
                print(line, end="", flush=True)
        rc = proc.wait()
    warnings = [line for line in lines if _WARNING_RE.search(line)]
    html = build / "html"
    if rc != 0 or warnings or not (html / "index.html").exists():
        shown = "\n".join(warnings[:30]) or "\n".join(lines[-15:])
        raise BookBuildError(f"jupyter-book build failed (exit {rc}, {len(warnings)} warning(s)):\n{shown}")
    return html


def make_book(
    preset: str | None = None,
    *,
    skip_execute: bool = False,
    only: Sequence[str] | None = None,
    out_dir: str | os.PathLike[str] = "book",
    progress: bool = True,
    vendor: bool = True,
    allow_missing: bool = False,
    report: bool = True,
) -> Path:
    """What ``advgeom book`` does: vendor the offline assets, execute the notebooks (all, or
    ``only``) into ``out_dir``, check every notebook has an executed copy, build; return the HTML dir.
    Parameters, presets and the output folders (``out_dir``, ``_build``, ``_static``) are checked first.

    ``allow_missing``: build even if some notebooks have no executed copy (their pages are left
    out of the book, with a note) instead of refusing. ``report``: print, at the end (also when a
    chapter or the build fails), the table of where the time went (:func:`time_report`)."""
    root = repo_root()
    notebooks = list_notebooks()
    if not notebooks:
        raise ValueError(f"no notebooks found in {notebooks_dir()} (expected files named NN_name.py)")
    chosen = [resolve_notebook(n) for n in only] if only else notebooks
    # validate everything before spending time on any execution
    for path in chosen:
        resolve_params(path, None, preset)
    out = Path(out_dir)
    out = out if out.is_absolute() else root / out
    for folder in (out, root / "_build", *([root / "_static"] if vendor else [])):
        check_output_dir("the book's output folder", folder)

    def check_executed(will_run: Sequence[Path]) -> None:
        missing = [p.stem for p in notebooks if p not in will_run and not (out / f"{p.stem}.ipynb").exists()]
        if missing and allow_missing:
            if progress:
                print(f"[advgeom] note: no executed notebook for {', '.join(missing)}: left out", flush=True)
        elif missing:
            raise ValueError(
                f"no executed notebook for {', '.join(missing)} in {out}; run `advgeom run NAME` for each, "
                "or `advgeom book` without --skip-execute/--only (or with --allow-missing to leave them out)"
            )

    check_executed([] if skip_execute else chosen)
    if vendor:
        vendor_assets(root / "_static", progress=progress)
    ran: list[str] = []
    build_seconds: float | None = None
    try:
        if not skip_execute:
            for path in chosen:
                run_notebook(path, preset=preset, out_dir=out, progress=progress)
                ran.append(path.stem)
        check_executed([])
        stale = sorted(
            p.name for p in out.glob(NOTEBOOK_GLOB.replace(".py", ".ipynb"))
            if not p.name.endswith(".failed.ipynb") and p.stem not in {n.stem for n in notebooks}
        )  # fmt: skip
        if stale and progress:
            print(f"[advgeom] note: {out} holds executed notebooks with no source in notebooks/: {stale}", flush=True)
        start = time.perf_counter()
        try:
            return build_book(root, echo=progress)
        finally:
            build_seconds = time.perf_counter() - start
    finally:
        if report and (ran or build_seconds is not None):
            print(time_report(out, ran, build_seconds), flush=True)


def time_report(out: Path, stems: Sequence[str], build_seconds: float | None = None) -> str:
    """Where ``advgeom book``'s time went: one row per chapter run (``stems``, read from the executed
    notebooks' metadata in ``out``: total wall time, training, attacks, geometry, the rest), then the
    jupyter-book build. A chapter served from the caches shows about 0 s in every category."""
    rows = {stem: timing for stem in stems if (timing := executed_timing(out, stem)) is not None}
    if build_seconds is not None:
        rows["jupyter-book build"] = (build_seconds, {})
    return "[advgeom] where the time went (seconds):\n" + timing_table(rows)
