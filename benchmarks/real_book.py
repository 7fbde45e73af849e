"""The real book, end to end: every chapter executed at its tiny preset, built, opened in Chromium.

Usage: python benchmarks/real_book.py [--preset tiny] [--keep DIR]

The long end-to-end check kept out of the test suite (it takes minutes; the suite's tests take
seconds): a throw-away copy of this repository's book sources (``_config.yml``, ``_toc.yml``, the
chapters and pages) is executed and built by ``advgeom book --preset PRESET`` from an empty cache,
then every page is opened offline in headless Chromium (:func:`advgeom.book.browser_check.check_book`):
charts drawn, equations rendered, the hearing chapter's sounds play, nothing fetched from the network,
code fits its box. Prints the build's per-chapter time ledger, the time of each stage, and every
problem found; exits 1 when any check fails. Screenshots go to ``<repo>/_build/screenshots/`` (CI
artifacts). ``make check-book`` runs it; CI runs it after ``make test``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from advgeom import cli
from advgeom.book import browser_check, notebooks

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("_config.yml", "_toc.yml", "references.bib")
PAGES = ("intro", "reproducing", "parameters", "instructors", "scaling", "bibliography")
SOUNDS = 3  # the hearing chapter plays a clean clip, its adversarial version and the perturbation


def copy_sources(root: Path) -> None:
    """This repository's book sources (not its executed chapters) under ``root``."""
    for name in SOURCES:
        shutil.copy(ROOT / name, root / name)
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    (root / "book").mkdir()
    for page in (ROOT / "book").glob("*.md"):
        shutil.copy(page, root / "book" / page.name)


def problems_of(report: browser_check.BookReport, chapters: list[str]) -> list[str]:
    """Everything wrong with the real book's report: the checker's own problems plus what this book must
    hold (a page per chapter and per text page, with a screenshot; two charts per chapter at least; the
    hearing chapter's sounds played)."""
    found = list(report.problems())
    names = {p.page for p in report.pages}
    for page in [f"book/{c}.html" for c in chapters] + [f"book/{p}.html" for p in PAGES]:
        if page not in names:
            found.append(f"{page}: missing from the built book")
    for page in report.pages:
        if page.page.startswith("book/0") and not (page.screenshot and Path(page.screenshot).stat().st_size > 10_000):
            found.append(f"{page.page}: no screenshot (or a blank one)")
    charts = sum(p.charts for p in report.pages)
    if charts < 2 * len(chapters):
        found.append(f"only {charts} charts in {len(chapters)} chapters (expected at least two each)")
    hearing = "book/02_auditory_generalization.html"
    if hearing in names:
        page = report.page(hearing)
        if not page.audio == page.audio_played == SOUNDS:
            found.append(f"{hearing}: {page.audio_played} of {page.audio} sounds played (expected {SOUNDS})")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="tiny", help="chapter preset to execute (default: tiny)")
    parser.add_argument("--keep", type=Path, default=None, help="build here and keep it (default: a temp folder)")
    args = parser.parse_args(argv)
    if not Path(browser_check.CHROMIUM).exists():
        print(f"{browser_check.CHROMIUM} not found: apt-get install chromium (see .ci/install-system.sh)")
        return 1
    work = Path(tempfile.mkdtemp(prefix="advgeom-real-book-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    root = work / "repo"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir()
    copy_sources(root)
    chapters = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
    os.environ[notebooks.ROOT_ENV] = str(root)
    os.environ["ADVGEOM_CACHE"] = str(work / "cache")  # from an empty cache, as on a new machine
    start = time.perf_counter()
    status = cli.main(["book", "--preset", args.preset, "--quiet"])
    built = time.perf_counter() - start
    if status != 0:
        print(f"advgeom book --preset {args.preset} failed (exit {status}) after {built:.0f} s")
        return 1
    start = time.perf_counter()
    report = browser_check.check_book(root / "_build" / "html", ROOT / "_build" / "screenshots")
    checked = time.perf_counter() - start
    print(report.summary())
    found = problems_of(report, chapters)
    print(f"\nbook at preset {args.preset!r} executed and built from an empty cache: {built:.0f} s; "
          f"{len(report.pages)} pages checked in Chromium: {checked:.0f} s")
    if found:
        print("\nPROBLEMS:\n" + "\n".join(f"  {p}" for p in found))
        return 1
    print("every page works offline")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
