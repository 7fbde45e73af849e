"""Command line: ``advgeom list | run | book | sweep | assets | sync`` (also ``python -m advgeom``).

User errors (unknown notebook or parameter, wrong type, failed notebook, build warnings)
print one line ``advgeom: error: ...`` and exit with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

EXIT_USER_ERROR = 2


def _parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="advgeom",
        description="Run the advgeom book's notebooks and build the book.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p_list = sub.add_parser("list", help="list notebooks with their parameters (types, defaults) and presets")
    p_list.add_argument("notebook", nargs="?", help="only this notebook")

    p_run = sub.add_parser("run", help="execute one notebook into book/ (or --out)")
    p_run.add_argument("notebook", help="name, number (01) or path of a notebooks/NN_name.py file")
    p_run.add_argument(
        "-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
        help="override a parameter; VALUE is a Python/YAML literal, e.g. -p eps_grid \"[0, 0.05, 0.1]\"",
    )
    p_run.add_argument("--preset", help="a named parameter set from notebooks/presets.toml (e.g. tiny, classroom)")
    p_run.add_argument("--out", default=None, help="output folder (default: <repo>/book)")
    p_run.add_argument("--kernel", default="python3", help="Jupyter kernel name (default python3)")
    p_run.add_argument("--quiet", action="store_true", help="no progress output")

    p_book = sub.add_parser("book", help="execute all notebooks into book/ and build _build/html (warnings fail)")
    p_book.add_argument("--preset", help="run every notebook with this preset")
    p_book.add_argument("--skip-execute", action="store_true", help="build from the executed notebooks in book/")
    p_book.add_argument("--only", action="append", metavar="NOTEBOOK", help="execute only this notebook (repeatable)")
    p_book.add_argument(
        "--allow-missing", action="store_true",
        help="build even if some notebooks have no executed copy in book/ (their pages are left out)",
    )
    p_book.add_argument("--quiet", action="store_true", help="less output")

    p_sweep = sub.add_parser(
        "sweep", help="fan a geometry grid (models x eps x seeds) out over Dask workers; cached per task",
        description="Run manifold-geometry analyses for every model, eps and seed on a local Dask cluster or a "
        "running one (--scheduler tcp://HOST:PORT). Finished tasks are cached: a re-run only computes what is new.",
    )  # fmt: skip
    if _command(sys.argv[1:] if argv is None else argv) == "sweep":
        # only then: the sweep's options come from the analysis package (keeps `advgeom --help` light)
        from advgeom.analysis.sweep import add_arguments

        add_arguments(p_sweep)

    p_sync = sub.add_parser(
        "sync", help="pair notebooks/NN_name.py with notebooks/NN_name.ipynb (jupytext --sync; the newer wins)"
    )
    p_sync.add_argument("notebook", nargs="*", help="only these notebooks (default: every chapter)")

    p_assets = sub.add_parser("assets", help="vendor the offline JavaScript (vega bundle, MathJax) into _static/vendor")
    p_assets.add_argument("--static-dir", default=None, help="default: <repo>/_static")
    p_assets.add_argument("--force", action="store_true", help="rebuild even if present at the right version")
    return parser


def _command(argv: Sequence[str]) -> str | None:
    """The subcommand in ``argv`` (the first word that is not an option), or None."""
    return next((word for word in argv if not word.startswith("-")), None)


def _cmd_list(args: argparse.Namespace) -> None:
    from advgeom.book import notebooks

    paths = [notebooks.resolve_notebook(args.notebook)] if args.notebook else notebooks.list_notebooks()
    if not paths:
        print(f"no notebooks in {notebooks.notebooks_dir()}")
        return
    all_presets = notebooks.load_presets()
    for i, path in enumerate(paths):
        params = notebooks.notebook_parameters(path)
        presets = sorted(all_presets.get(path.stem, {}))
        print(("\n" if i else "") + f"{path.stem}  ({path})")
        print(notebooks.describe_parameters(params))
        print(f"  presets: {', '.join(presets) if presets else '(none)'}")


def _cmd_run(args: argparse.Namespace) -> None:
    from advgeom.book import notebooks
    from advgeom.book.execute import run_notebook

    path = notebooks.resolve_notebook(args.notebook)
    spec = notebooks.notebook_parameters(path)
    params = {}
    for name, text in args.parameter:
        params[name] = notebooks.parse_value(text, spec.get(name))
    out = Path(args.out).resolve() if args.out else notebooks.repo_root() / "book"
    target = run_notebook(path, params, preset=args.preset, out_dir=out, progress=not args.quiet,
                          kernel=args.kernel)
    print(target)


def _cmd_book(args: argparse.Namespace) -> None:
    from advgeom.book.build import make_book

    html = make_book(args.preset, skip_execute=args.skip_execute, only=args.only, progress=not args.quiet,
                     allow_missing=args.allow_missing)
    print(f"[advgeom] book built without warnings: {html / 'index.html'}")


def _cmd_sweep(args: argparse.Namespace) -> None:
    from advgeom.analysis.sweep import run_from_args

    run_from_args(args)


def _cmd_assets(args: argparse.Namespace) -> None:
    from advgeom.book.assets import vendor_assets
    from advgeom.book.notebooks import repo_root

    static = Path(args.static_dir) if args.static_dir else repo_root() / "_static"
    vendor_assets(static, force=args.force)


def _cmd_sync(args: argparse.Namespace) -> None:
    from advgeom.book.notebooks import sync_notebooks

    for path in sync_notebooks(args.notebook):
        print(path)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``advgeom`` console script; returns the exit status."""
    from advgeom.book.assets import AssetError
    from advgeom.book.build import BookBuildError
    from advgeom.book.execute import NotebookExecutionError

    args = _parser(argv).parse_args(argv)
    handler = {"list": _cmd_list, "run": _cmd_run, "book": _cmd_book, "sweep": _cmd_sweep, "assets": _cmd_assets,
               "sync": _cmd_sync}[args.command]  # fmt: skip
    try:
        handler(args)
    except (ValueError, NotebookExecutionError, BookBuildError, AssetError, FileNotFoundError) as err:
        message = str(err).strip()
        print(f"advgeom: error: {message}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("advgeom: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
