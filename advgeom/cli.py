"""Command line: ``advgeom list | run | book | sweep | assets | sync`` (also ``python -m advgeom``).

User errors (unknown notebook or parameter, a wrong type or a value out of its declared range, a
malformed option, an output location that cannot be written, a file that cannot be read, a failed
notebook) print one line ``advgeom: error: ...`` and exit with status 2, without a traceback; they are
found before anything is computed or written. Ctrl-C exits with 130 (``advgeom: interrupted``), SIGTERM
with 143 (``advgeom: terminated``), after the same clean-up.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
_COMPUTING = ("run", "book", "sweep")  # commands whose thread pools are sized (advgeom.threads)
_NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^-\.?(inf|nan)$", re.IGNORECASE)


class _UsageError(Exception):
    """A malformed command line (raised by the parser instead of printing usage and exiting)."""


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors raise :class:`_UsageError` (reported by :func:`main` on one line), and which
    reads every negative number as a value (``-p kappa -1e-3``, ``-p eps -.inf``), not only ``-5`` and ``-0.5``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # argparse's own pattern (private, used to tell values from options) misses exponents and YAML's -.inf
        self._negative_number_matcher = _NEGATIVE_NUMBER

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message} (see `{self.prog} --help`)")


def _parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = _Parser(
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
    from advgeom.checks import check_output_dir

    path = notebooks.resolve_notebook(args.notebook)
    out = check_output_dir("--out", args.out if args.out is not None else notebooks.repo_root() / "book").resolve()
    spec = notebooks.notebook_parameters(path)
    params = {}
    for name, text in args.parameter:  # an unknown name keeps its text: validation names it
        params[name] = notebooks.parse_value(text, spec[name]) if name in spec else text
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
    from advgeom.checks import check_output_dir

    static = args.static_dir if args.static_dir is not None else repo_root() / "_static"
    static = check_output_dir("--static-dir", static)
    vendor_assets(static, force=args.force)


def _cmd_sync(args: argparse.Namespace) -> None:
    from advgeom.book.notebooks import sync_notebooks

    for path in sync_notebooks(args.notebook):
        print(path)


def _os_error_line(err: OSError) -> str:
    """An OSError as one line: ``Permission denied: /path`` (or its own message when it has no file name)."""
    if err.filename is None or not err.strerror:
        return str(err)
    files = f"{err.filename}" + (f" -> {err.filename2}" if err.filename2 is not None else "")
    return f"{err.strerror}: {files}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``advgeom`` console script; returns the exit status."""
    from advgeom.book.assets import AssetError
    from advgeom.book.build import BookBuildError
    from advgeom.book.execute import NotebookExecutionError, Terminated, terminate_raises

    try:
        args = _parser(argv).parse_args(argv)
    except _UsageError as err:
        return _user_error(str(err))
    handler = {"list": _cmd_list, "run": _cmd_run, "book": _cmd_book, "sweep": _cmd_sweep, "assets": _cmd_assets,
               "sync": _cmd_sync}[args.command]  # fmt: skip
    try:
        with terminate_raises():
            if args.command in _COMPUTING:
                from advgeom.threads import configure_threads

                configure_threads()  # torch and BLAS pools sized to the free cores; kernels and workers inherit it
            handler(args)
    except (ValueError, NotebookExecutionError, BookBuildError, AssetError) as err:
        return _user_error(str(err).strip())
    except OSError as err:  # a file or folder that cannot be read or written (permissions, a file for a folder)
        return _user_error(_os_error_line(err))
    except KeyboardInterrupt:
        print("advgeom: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print("advgeom: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    return 0


def _user_error(message: str) -> int:
    print(f"advgeom: error: {message}", file=sys.stderr)
    return EXIT_USER_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
