"""How the book tells readers to re-run it: the exact command per page, the generated parameters page,
and the table of contents restricted to the pages that exist.

* :func:`rerun_command` turns a notebook stem, preset and parameter values into the ``advgeom run``
  command line that reproduces them (every value is written so that the CLI reads it back exactly).
* :func:`rerun_markdown` is the note :func:`advgeom.runner.run_notebook` inserts into every executed
  notebook, under its title: the command, the time it took, where to download the notebook.
* :func:`parameters_page` writes ``book/parameters.md`` at book time from the notebooks' parameters
  cells, :data:`advgeom.presets.PRESETS` / :data:`~advgeom.presets.ESTIMATES` and the metadata of the
  executed notebooks (nothing on that page is typed by hand).
* :func:`effective_toc` drops from ``_toc.yml`` the entries whose page does not exist (a chapter not
  written or not executed yet), so one missing chapter never breaks the build of the others.
* :func:`glance_page` writes ``book/_generated/glance.md``, the landing page's summary of the findings:
  sentences and a figure glued from the executed chapters (a chapter not executed is named, not faked).
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

RERUN_TAG = "advgeom-rerun"
METADATA_KEY = "advgeom"
PARAMETERS_PAGE = "book/parameters.md"
GLANCE_PAGE = "book/_generated/glance.md"
DOC_SUFFIXES = (".md", ".ipynb", ".rst")


# ------------------------------------------------------------------ commands


def format_value(value: Any, expected: Any = None) -> str:
    """The text of ``-p NAME VALUE`` that :func:`advgeom.runner.parse_value` reads back as ``value``.

    ``expected`` is the notebook's :class:`~advgeom.runner.Parameter` (a ``str`` parameter keeps raw text).
    """
    from advgeom.runner import parse_value

    candidates = [value] if isinstance(value, str) else []
    candidates.append(repr(list(value)) if isinstance(value, tuple) else repr(value))
    for text in candidates:
        if _same(parse_value(text, expected), value):
            return text
    raise ValueError(f"value {value!r} cannot be written as a command-line literal")


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same types (lists and tuples compared element-wise)."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def rerun_command(
    stem: str, params: Mapping[str, Any] | None = None, preset: str | None = None, *, program: str = "advgeom"
) -> str:
    """``advgeom run STEM [--preset P] [-p NAME VALUE ...]`` reproducing these parameter values.

    ``stem`` is a chapter's stem (or the path of a notebook outside ``notebooks/``). ``params`` are
    the values the notebook ran with (the preset's, updated by explicit ones); only
    those that differ from the preset are written after ``--preset``. Values are shell-quoted.
    """
    from advgeom.presets import PRESETS

    key = Path(stem).stem  # presets are keyed by stem; ``stem`` may be a path to a notebook
    base = dict(PRESETS.get(key, {}).get(preset, {})) if preset else {}
    spec = _spec(stem)
    words = [program, "run", stem]
    if preset:
        words += ["--preset", preset]
    for name, value in (params or {}).items():
        if name in base and _same(value, base[name]):
            continue
        words += ["-p", name, format_value(value, spec.get(name))]
    return " ".join(shlex.quote(w) for w in words)


def _spec(stem: str) -> dict[str, Any]:
    from advgeom import runner

    try:
        return runner.notebook_parameters(stem)
    except ValueError:
        return {}


def rerun_markdown(
    stem: str,
    command: str,
    *,
    seconds: float | None = None,
    source: str | None = None,
    parameters_link: str | None = None,
) -> str:
    """The note shown under a chapter's title: how this page was computed and how to re-run it."""
    took = f" (in {_duration(seconds)}, reusing what was already cached)" if seconds is not None else ""
    lines = [
        ":::{admonition} Re-run this page",
        ":class: tip dropdown",
        "",
        f"This page is the executed notebook `{stem}`, computed{took} with",
        "",
        "```bash",
        command,
        "```",
        "",
        "Change any parameter with `-p NAME VALUE` (`advgeom list " + stem + "` shows them all, with types,",
        "defaults and presets; `--preset classroom` runs in a few minutes on a laptop).",
        "Download the executed notebook with the download button (top right of this page)",
    ]
    if source:
        lines[-1] += f", or its Jupytext source {{download}}`{Path(source).name} <{source}>`"
    lines[-1] += "."
    if parameters_link:
        lines.append(f"Every chapter's parameters and run times: [Parameters]({parameters_link}).")
    lines.append(":::")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def insert_rerun_cell(nb: Any, text: str) -> None:
    """Insert (or replace) the re-run note in notebook ``nb`` right after the cell holding its title."""
    import nbformat

    nb.cells = [c for c in nb.cells if RERUN_TAG not in c.get("metadata", {}).get("tags", [])]
    cell = nbformat.v4.new_markdown_cell(text, metadata={"tags": [RERUN_TAG]})
    if nb.get("nbformat_minor", 5) < 5:  # cell ids exist from nbformat 4.5 on
        del cell["id"]
    at = 0
    for i, c in enumerate(nb.cells):
        if c.cell_type == "markdown" and any(line.startswith("# ") for line in c.source.splitlines()):
            at = i + 1
            break
    nb.cells.insert(at, cell)


# ----------------------------------------------------------- parameters page


def _title(path: Path) -> str:
    """The first level-1 heading of a Jupytext percent notebook (``# # Title``), else its stem."""
    match = re.search(r"^# # (.+)$", path.read_text(), flags=re.MULTILINE)
    return match.group(1).strip() if match else path.stem


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _literal(value: Any) -> str:
    return f"`{_cell(repr(value))}`"


def executed_metadata(book_dir: Path, stem: str) -> dict[str, Any]:
    """The ``advgeom`` metadata of ``book_dir/stem.ipynb`` (empty when missing or unreadable)."""
    import json

    try:
        meta = json.loads((book_dir / f"{stem}.ipynb").read_text()).get("metadata", {})
    except (OSError, ValueError):
        return {}
    return dict(meta.get(METADATA_KEY, {}))


def parameters_page(notebooks: Sequence[Path] | None = None, book_dir: Path | None = None) -> str:
    """Markdown of the *Parameters* page: per chapter, its parameters, presets, estimates and last run."""
    from advgeom import runner
    from advgeom.presets import ESTIMATES, PRESETS

    notebooks = runner.list_notebooks() if notebooks is None else list(notebooks)
    book_dir = book_dir or runner.repo_root() / "book"
    out = [
        "# Parameters",
        "",
        "Every chapter is a notebook whose `parameters` cell lists what can be changed. This page is",
        "generated by `advgeom book` from those cells, the presets in `advgeom/presets.py` and the",
        "executed notebooks, so it always matches the code. Run a chapter with other values with",
        "`advgeom run NAME -p PARAMETER VALUE` (values are Python or YAML literals, checked against the",
        "types below before anything runs), or with a preset: `advgeom run NAME --preset classroom`.",
        "",
    ]
    if not notebooks:
        out.append("No chapters yet.")
    for path in notebooks:
        stem = path.stem
        spec = runner.notebook_parameters(path)
        out += [f"## {_cell(_title(path))}", "", f"Notebook `{stem}` (source `notebooks/{path.name}`)."]
        meta = executed_metadata(book_dir, stem)
        if meta.get("command"):
            took = f" in {_duration(float(meta['seconds']))}" if meta.get("seconds") is not None else ""
            out += [f"This book's page was computed{took} with `{meta['command']}`."]
        out += ["", "| parameter | type | default | description |", "|---|---|---|---|"]
        for p in spec.values():
            out.append(f"| `{p.name}` | {_cell(p.type_name)} | {_literal(p.default)} | {_cell(p.description)} |")
        presets = PRESETS.get(stem, {})
        estimates = ESTIMATES.get(stem, {})
        out += ["", "| preset | overrides | expected time | command |", "|---|---|---|---|"]
        out.append(f"| (defaults) | none | {_cell(estimates.get('default', 'not estimated'))} | `advgeom run {stem}` |")
        for name in sorted(presets):
            over = ", ".join(f"`{k}={_cell(repr(v))}`" for k, v in presets[name].items()) or "none"
            out.append(
                f"| `{name}` | {over} | {_cell(estimates.get(name, 'not estimated'))} | "
                f"`advgeom run {stem} --preset {name}` |"
            )
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def write_parameters_page(root: Path | None = None) -> Path:
    """Write :func:`parameters_page` to ``<root>/book/parameters.md`` (atomically); return its path."""
    from advgeom import runner
    from advgeom.cache import atomic_write_text

    root = Path(root) if root is not None else runner.repo_root()
    target = root / PARAMETERS_PAGE
    atomic_write_text(target, parameters_page(runner.list_notebooks(root / "notebooks"), root / "book"))
    return target


# ------------------------------------------------------------------- glance


def _glued(stem: str, key: str, fmt: str = ".2f") -> str:
    """A cross-document ``{glue:text}`` role for ``key`` of the executed ``stem.ipynb``."""
    return f"{{glue:text}}`{stem}.ipynb::{key}:{fmt}`"


# (chapter stem, glue keys the sentence needs, sentence); {name} is replaced by a glued number.
GLANCE_SENTENCES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "01_vision_geometry",
        ("small_eps", "eps_max", "std_radius_small", "std_radius_max", "std_capacity_small", "std_capacity_max"),
        "**Vision.** In the standard network, stronger $L_\\infty$ attacks inflate the exemplar manifolds of"
        " the last layers (radius {std_radius_small} at eps {small_eps}, {std_radius_max} at eps {eps_max}) and"
        " collapse their capacity ({std_capacity_small} to {std_capacity_max}).",
    ),
    (
        "01_vision_geometry",
        ("at_radius_max", "std_radius_max", "eps_max"),
        "The adversarially trained network keeps them small (radius {at_radius_max} against"
        " {std_radius_max} at eps {eps_max}).",
    ),
    (
        "01_vision_geometry",
        ("vone_radius_clean", "vone_rel_change", "std_rel_change"),
        "The stochastic VOne network's exemplar manifolds are already wide without any attack (radius"
        " {vone_radius_clean}) and the attack changes them relatively little ({vone_rel_change} relative change,"
        " against {std_rel_change} in the standard network).",
    ),
    (
        "03_tradeoff",
        ("clean_0", "clean_max", "noise_max", "adv_0", "adv_best", "best_noise"),
        "**The trade-off.** More V1 noise lowers clean accuracy ({clean_0} without noise, {clean_max} at"
        " noise {noise_max}) while accuracy under a small attack rises from {adv_0} to {adv_best} at noise"
        " {best_noise}.",
    ),
    (
        "03_tradeoff",
        ("overlap_0", "overlap_max", "capacity_0", "capacity_max"),
        "Noise makes clean and adversarial exemplar manifolds overlap ({overlap_0} to {overlap_max}) but"
        " inflates the class manifolds (final-layer capacity {capacity_0} to {capacity_max}).",
    ),
    (
        "02_auditory_generalization",
        ("overlap_det", "overlap_sto"),
        "**Hearing.** In word-recognition networks with a cochlear front end, the clean and adversarial"
        " exemplar manifolds of the last layers overlap {overlap_det} in the deterministic network and"
        " {overlap_sto} in the stochastic one.",
    ),
)
GLANCE_FIGURE = ("01_vision_geometry", "fig_exemplar_radius")
GLANCE_CAPTION = "Exemplar-manifold radius, layer by layer, for each network and attack strength."
_PLAIN_KEYS = ("small_eps", "eps_max", "noise_max", "best_noise")  # glued with format "g", the others ".2f"


def glance_page(book_dir: Path) -> str:
    """Markdown of the landing page's *findings at a glance*, glued from the executed chapters in ``book_dir``.

    Only sentences whose numbers exist in an executed notebook are written; chapters not executed
    are listed with the command that computes them.
    """
    from advgeom import runner

    values: dict[str, dict[str, Any]] = {}
    for stem in dict.fromkeys(s for s, _, _ in GLANCE_SENTENCES):
        path = book_dir / f"{stem}.ipynb"
        try:
            values[stem] = runner.glued_values(path) if path.exists() else {}
        except (OSError, ValueError):
            values[stem] = {}
    out: list[str] = []
    for stem, keys, sentence in GLANCE_SENTENCES:
        if all(k in values[stem] for k in keys):
            text = sentence
            for k in keys:
                text = text.replace(f"{{{k}}}", _glued(stem, k, "g" if k in _PLAIN_KEYS else ".2f"))
            out.append(text)
    stem, key = GLANCE_FIGURE
    if key in values.get(stem, {}):
        # myst-nb pastes across documents with {glue} only ({glue:figure} has no :doc: option)
        out.append(f"```{{glue}} {key}\n:doc: {stem}.ipynb\n```")
        out.append(f"*{GLANCE_CAPTION}* ({{doc}}`details <{stem}>`)")
    missing = [s for s in values if not values[s]]
    if missing:
        out.append("Not computed in this build (run them to fill in this summary): "
                   + ", ".join(f"`advgeom run {s}`" for s in missing) + ".")  # fmt: skip
    return "\n\n".join(out) + "\n"


def write_glance_page(root: Path | None = None) -> Path:
    """Write :func:`glance_page` to ``<root>/book/_generated/glance.md`` (atomically); return its path."""
    from advgeom import runner
    from advgeom.cache import atomic_write_text

    root = Path(root) if root is not None else runner.repo_root()
    target = root / GLANCE_PAGE
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target, glance_page(root / "book"))
    return target


# ------------------------------------------------------------------------ toc


def _documents(root: Path) -> set[str]:
    """Docnames (path without suffix, posix) of the pages under ``root`` a build could include."""
    docs = set()
    for suffix in DOC_SUFFIXES:
        for path in root.rglob(f"*{suffix}"):
            rel = path.relative_to(root)
            if any(part.startswith(".") or part in ("_build", "notebooks", "tests") for part in rel.parts):
                continue
            if path.name.endswith((".failed.ipynb", ".running.ipynb")):
                continue
            docs.add(rel.as_posix()[: -len(suffix)])
    return docs


def _strip_suffix(name: str) -> str:
    for suffix in DOC_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def effective_toc(toc: Mapping[str, Any], root: Path) -> tuple[dict[str, Any], list[str]]:
    """``toc`` (a parsed ``_toc.yml``) without the entries whose page is missing under ``root``.

    ``file`` entries need their page; ``glob`` entries need at least one page not taken by an
    earlier glob (as sphinx-external-toc assigns them); parts and sections left empty are dropped.
    Returns the new mapping and the dropped entries (for a note to the user).
    """
    available = _documents(root)
    dropped: list[str] = []

    def keep(entry: Mapping[str, Any]) -> dict[str, Any] | None:
        entry = dict(entry)
        if "file" in entry:
            if _strip_suffix(str(entry["file"])) not in available:
                dropped.append(f"file: {entry['file']}")
                return None
        elif "glob" in entry:
            matches = {d for d in available if fnmatch.fnmatchcase(d, str(entry["glob"]))}
            if not matches:
                dropped.append(f"glob: {entry['glob']}")
                return None
            available.difference_update(matches)
        for key in ("sections", "chapters"):
            if key in entry:
                entry[key] = [k for k in (keep(e) for e in entry[key]) if k is not None]
                if not entry[key]:
                    del entry[key]
                    if not any(k in entry for k in ("file", "glob", "url")):
                        return None
        if "parts" in entry:
            entry["parts"] = [p for p in (keep(e) for e in entry["parts"]) if p is not None]
        return entry

    out = dict(toc)
    for key in ("chapters", "parts", "sections"):
        if key in out:
            items = [k for k in (keep(e) for e in out[key]) if k is not None]
            if items:
                out[key] = items
            else:
                del out[key]
    return out, dropped


def write_effective_toc(root: Path, target: Path) -> list[str]:
    """Write :func:`effective_toc` of ``root/_toc.yml`` to ``target``; return the dropped entries."""
    import yaml

    from advgeom.cache import atomic_write_text

    toc = yaml.safe_load((root / "_toc.yml").read_text())
    root_doc = _strip_suffix(str(toc.get("root", "")))
    if root_doc not in _documents(root):
        raise FileNotFoundError(f"the root page {toc.get('root')!r} of {root / '_toc.yml'} does not exist")
    new, dropped = effective_toc(toc, root)
    header = "# generated by advgeom from _toc.yml: entries whose page is missing are left out\n"
    atomic_write_text(target, header + yaml.safe_dump(new, sort_keys=False))
    return dropped


def relative_link(from_dir: Path, to: Path) -> str:
    """A posix relative path from folder ``from_dir`` to file ``to`` (for links inside the book)."""
    return Path(os.path.relpath(to, from_dir)).as_posix()
