"""The chapters as data: where they are, their parameters, their presets, the values they glue.

Chapters live in ``notebooks/NN_name.py`` (Jupytext percent format). Each has one cell tagged
``parameters`` made of simple assignments::

    # %% tags=["parameters"]
    n_images = 50  # images per class manifold
    eps_grid = [0.0, 0.5, 1.0]  # attack strengths (x/255)

The default of each name fixes its type (int, float, str, bool, None, or a list/tuple of those) and the
trailing comment is its description, followed by its allowed values: clauses separated by `` | ``::

    n_t = 100  # MFTMA Gaussian samples per manifold | in [1, 5000]
    norm = "linf"  # attack norm | one of linf, l2, l1
    eps_grid = [0.0, 0.03, 0.1]  # L-inf attack strengths | each in [0, 1] | length [1, 12]

``in I`` bounds a number (``I`` is an interval, closed ``[a, b]``, open ``(a, b)`` or half-open, with
``inf`` / ``-inf`` as bounds; a float is finite unless an interval closed at ``inf`` admits it), ``one of
a, b, c`` lists the allowed values, ``length I`` bounds the characters of a str or the elements of a
list, and ``each`` applies a clause to every element of a list (see :class:`Clause`). Overrides are
checked against all of this before anything runs; a wrong name, type or value raises ``ValueError``
naming the parameter, the value and what is allowed. :func:`parse_value` reads a command-line value
(refusing text too long or too deeply nested to parse safely) and :func:`format_value` writes one
that reads back exactly.

Next to the chapters lies their data (read by the loaders here; each takes the folder, by default the
repository's ``notebooks/``):

* ``presets.toml``: per chapter stem, its named parameter sets (``[STEM.presets.NAME]``, overrides of
  the parameters cell; every chapter has ``tiny``, seconds for the tests, and ``classroom``, a few
  minutes on a laptop) and the human-written run-time estimates printed before a run
  (``[STEM.estimates]``, key ``default`` for no preset): :func:`load_presets`, :func:`load_estimates`;
* ``glance.yml``: the sentences, figure and caption of the landing page's *findings at a glance*:
  :func:`load_glance`.
"""

from __future__ import annotations

import ast
import functools
import io
import math
import os
import re
import tokenize
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

from advgeom.book import TABLE_MIME
from advgeom.checks import Constraint, Interval, Options

ROOT_ENV = "ADVGEOM_ROOT"
NOTEBOOK_GLOB = "[0-9]*.py"
JUPYTEXT_CONFIG = "jupytext.toml"
PRESETS_FILE = "presets.toml"
GLANCE_FILE = "glance.yml"


# --------------------------------------------------------------------------- paths


def repo_root() -> Path:
    """The repository root: ``$ADVGEOM_ROOT``, else the folder above the package if it holds
    ``pyproject.toml`` and ``_config.yml`` (an editable install), else the current directory."""
    env = os.environ.get(ROOT_ENV)
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parents[2]
    if (here / "pyproject.toml").is_file() and (here / "_config.yml").is_file():
        return here
    return Path.cwd().resolve()


def notebooks_dir() -> Path:
    """``<repo root>/notebooks``."""
    return repo_root() / "notebooks"


def list_notebooks(folder: str | os.PathLike[str] | None = None) -> list[Path]:
    """The book's notebooks, ``notebooks/[0-9]*.py`` sorted by name."""
    folder = Path(folder) if folder is not None else notebooks_dir()
    return sorted(p for p in folder.glob(NOTEBOOK_GLOB) if p.is_file())


def resolve_notebook(name: str | os.PathLike[str]) -> Path:
    """Find a notebook by stem (``01_vision_geometry``), number (``01``/``1``), file name,
    name without number (``vision_geometry``) or path to a ``.py`` file."""
    text = str(name)
    path = Path(text)
    if path.suffix == ".py" and path.is_file():
        return path.resolve()
    books = list_notebooks()
    stem = Path(text).name
    stem = stem[:-3] if stem.endswith(".py") else stem
    matches = [p for p in books if p.stem == stem]
    if not matches and stem.isdigit():
        matches = [p for p in books if p.stem.split("_", 1)[0].isdigit() and int(p.stem.split("_", 1)[0]) == int(stem)]
    if not matches:
        matches = [p for p in books if p.stem.split("_", 1)[-1] == stem]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise ValueError(f"notebook {text!r} is ambiguous: it matches {[p.stem for p in matches]}")
    names = ", ".join(p.stem for p in books) or f"(none in {notebooks_dir()})"
    raise ValueError(
        f"unknown notebook {text!r}; available: {names} (give the full name, its number, or a path to a .py notebook)"
    )


def sync_notebooks(paths: Sequence[str | os.PathLike[str]] | None = None) -> list[Path]:
    """``jupytext --sync`` the chapters (default: all) with their paired ``notebooks/NN_name.ipynb``, as
    ``jupytext.toml`` at the repository root pairs them: the newer of the two files updates the other (a
    missing ``.ipynb`` is created). Returns the ``.ipynb`` paths; raises ``ValueError`` without the config
    or when jupytext fails."""
    from jupytext.cli import jupytext

    config = repo_root() / JUPYTEXT_CONFIG
    if not config.is_file():
        raise ValueError(f"{config} is missing: it pairs notebooks/*.py with notebooks/*.ipynb")
    chapters = [resolve_notebook(p) for p in paths] if paths else list_notebooks()
    if chapters and jupytext(["--sync", "--quiet", *map(str, chapters)]) != 0:
        raise ValueError(f"jupytext --sync failed for {[p.name for p in chapters]}")
    return [p.with_suffix(".ipynb") for p in chapters]


def relative_link(from_dir: Path, to: Path) -> str:
    """A posix relative path from folder ``from_dir`` to file ``to`` (for links inside the book)."""
    return Path(os.path.relpath(to, from_dir)).as_posix()


# --------------------------------------------------------------------- parameters


_SCALARS: dict[type, str] = {bool: "bool", int: "int", float: "float", str: "str"}
CLAUSE_SEPARATOR = " | "
MAX_VALUE_CHARS = 10_000  # a command-line value longer than this is refused before it is parsed
MAX_VALUE_DEPTH = 8  # ... and one nested deeper than this (lists of lists of ...)
_SHOWN_CHARS = 60  # values in messages are cut to this many characters


def _short(value: Any) -> str:
    """``repr(value)``, cut to a readable length for a message."""
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 4] + " ..."


@dataclass(frozen=True)
class Clause:
    """One declared rule of a parameter: ``[each ]in I``, ``[each ]one of a, b``, ``[each ]length I``.

    ``what`` is ``in``, ``one of`` or ``length`` and ``body`` the rest as written; ``constraint`` (an
    :class:`~advgeom.checks.Interval` or :class:`~advgeom.checks.Options`) decides, on ``len(value)`` for
    ``length``; ``each`` applies the clause to every element of a list.
    """

    what: str
    body: str
    constraint: Constraint
    each: bool = False

    @property
    def length(self) -> bool:
        """Whether the clause judges the length of the value (its characters or elements)."""
        return self.what == "length"

    @property
    def rule(self) -> str:
        """The clause as written, without ``each``."""
        return f"{self.what} {self.body}"

    @property
    def text(self) -> str:
        """The clause as written in the parameters cell."""
        return ("each " if self.each else "") + self.rule

    def check(self, name: str, value: Any) -> None:
        """Raise ValueError naming ``name`` (and the element) if ``value`` breaks this clause."""
        items = [(f"{name!r} element {i}", v) for i, v in enumerate(value)] if self.each else [(repr(name), value)]
        for where, item in items:
            if self.length and not isinstance(item, (str, list, tuple)):
                raise ValueError(f"parameter {where} must be text (its length is declared), got {_short(item)}")
            subject = len(item) if self.length else item
            if self.constraint.accepts(subject):
                continue
            if self.length:
                raise ValueError(f"parameter {where} has length {subject}; its length must be in {self.body}")
            verb = "is out of range" if isinstance(self.constraint, Interval) else "is not allowed"
            raise ValueError(f"parameter {where} = {_short(item)} {verb}: it must be {self.rule}")


@dataclass(frozen=True)
class Parameter:
    """One notebook parameter: its default, inferred type, description and declared allowed values.

    ``kind`` is ``"int"``, ``"float"``, ``"str"``, ``"bool"``, ``"any"`` (default None)
    or ``"list"``/``"tuple"``; ``element`` is the element kind of a list/tuple
    (``"any"`` when the default is empty or mixed). ``clauses`` are the rules after the description
    (:class:`Clause`), checked by :meth:`check` after the type.
    """

    name: str
    default: Any
    kind: str
    element: str | None = None
    description: str = ""
    clauses: tuple[Clause, ...] = ()

    @property
    def type_name(self) -> str:
        """Human-readable type, e.g. ``float``, ``list[float]``, ``None (any literal)``."""
        if self.kind in ("list", "tuple"):
            return f"{self.kind}[{self.element}]"
        if self.kind == "any":
            return "None (any literal)"
        return self.kind

    @property
    def allowed(self) -> str:
        """The declared allowed values as written (``in [1, 5000]``, ``each in [0, 1] | length [1, 12]``), or ""."""
        return CLAUSE_SEPARATOR.join(c.text for c in self.clauses)

    def check(self, value: Any) -> Any:
        """Return ``value`` converted to this parameter's type (int->float, tuple->list), or raise
        ValueError naming the parameter, the value and what is allowed (type, finiteness, clauses)."""
        value = self._check_type(value)
        self._check_finite(value)
        for clause in self.clauses:
            clause.check(self.name, value)
        return value

    def _check_type(self, value: Any) -> Any:
        if self.kind == "any":
            _check_literal(self.name, value)
            return _to_injectable(value)
        if self.kind in ("list", "tuple"):
            if not isinstance(value, (list, tuple)):
                raise ValueError(
                    f"parameter {self.name!r} must be {self.type_name}, got {_short(value)} ({type(value).__name__})"
                )
            out = []
            for i, v in enumerate(value):
                try:
                    out.append(_check_scalar(f"{self.name}[{i}]", v, self.element or "any"))
                except ValueError:
                    raise ValueError(
                        f"parameter {self.name!r} must be {self.type_name}; element {i} is {_short(v)} "
                        f"({type(v).__name__})"
                    ) from None
            return out
        return _check_scalar(self.name, value, self.kind)

    def _check_finite(self, value: Any) -> None:
        """A float is finite unless a declared interval admits it (``in [0, inf]``)."""
        listed = self.kind in ("list", "tuple")
        if (self.element if listed else self.kind) != "float":
            return
        if any(c.each == listed and not c.length and isinstance(c.constraint, Interval) for c in self.clauses):
            return  # the interval decides
        for i, v in enumerate(value if listed else [value]):
            if not math.isfinite(v):
                where = f"{self.name!r} element {i}" if listed else repr(self.name)
                raise ValueError(f"parameter {where} = {v!r} is not allowed: it must be a finite number")


def _check_scalar(name: str, value: Any, kind: str) -> Any:
    if kind == "any":
        _check_literal(name, value)
        return _to_injectable(value)
    ok = {
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "str": isinstance(value, str),
    }[kind]
    if not ok:
        raise ValueError(f"parameter {name!r} must be {kind}, got {_short(value)} ({type(value).__name__})")
    return float(value) if kind == "float" else value


def _check_literal(name: str, value: Any) -> None:
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"parameter {name!r} = {value!r} is not allowed: it must be a finite number")
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_literal(f"{name}[{i}]", v)
        return
    raise ValueError(
        f"parameter {name!r} must be a simple literal (number, str, bool, None or a list), got {_short(value)}"
    )


def _to_injectable(value: Any) -> Any:
    """papermill injects lists but not tuples: turn tuples into lists, recursively."""
    if isinstance(value, (list, tuple)):
        return [_to_injectable(v) for v in value]
    return value


def _infer(name: str, default: Any, description: str) -> Parameter:
    if default is None:
        return Parameter(name, None, "any", None, description)
    if type(default) in _SCALARS:
        return Parameter(name, default, _SCALARS[type(default)], None, description)
    if isinstance(default, (list, tuple)):
        kinds = {_SCALARS.get(type(v), "any") for v in default}
        if kinds == {"int", "float"}:
            element = "float"
        elif len(kinds) == 1 and "any" not in kinds:
            element = kinds.pop()
        else:
            element = "any"
        return Parameter(name, default, type(default).__name__, element, description)
    raise ValueError(f"parameter {name!r} has an unsupported default {default!r}")


# ``in [0, 1]``, ``each one of a, b``, ``length (0, inf)``: the clause grammar of a parameter's comment
_CLAUSE_RE = re.compile(r"^(?P<each>each\s+)?(?P<what>in|one of|length)\s+(?P<body>.+)$")
_INTERVAL_RE = re.compile(r"^(?P<left>[\[(])\s*(?P<low>[^,\s]+)\s*,\s*(?P<high>[^,\s]+)\s*(?P<right>[\])])$")
_CLOSED = {("[", "]"): "both", ("[", ")"): "left", ("(", "]"): "right", ("(", ")"): "neither"}


def _bound(text: str, integer: bool) -> float | None:
    """An interval bound: a number or +-inf (None for an infinite bound of an integer interval)."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"interval bound {text!r} is not a number (or inf)") from None
    if math.isnan(value):
        raise ValueError("an interval bound cannot be nan")
    if math.isinf(value):
        return None if integer else value
    if integer and not value.is_integer():
        raise ValueError(f"interval bound {text!r} of integers is not an integer")
    return int(value) if integer else value


def parse_interval(text: str, integer: bool) -> Interval:
    """``[a, b]``, ``(a, b]``, ``[a, inf)`` ... as an :class:`~advgeom.checks.Interval` of ints or floats.

    A float interval closed at an infinite bound admits that infinity; any other float interval admits
    finite numbers only.
    """
    match = _INTERVAL_RE.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not an interval like [0, 1], (0, 1] or [1, inf)")
    closed = _CLOSED[(match["left"], match["right"])]
    low, high = _bound(match["low"], integer), _bound(match["high"], integer)
    admits_inf = (match["left"] == "[" and low == -math.inf) or (match["right"] == "]" and high == math.inf)
    return Interval(int if integer else float, low, high, finite=not admits_inf, closed=closed)


def _option(text: str, kind: str) -> Any:
    """One value of ``one of a, b``: raw text for a str parameter (quotes optional), a literal otherwise."""
    text = text.strip()
    if kind == "str":
        quoted = len(text) >= 2 and text[0] == text[-1] and text[0] in "'\""
        return text[1:-1] if quoted else text
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise ValueError(f"allowed value {text!r} is not a {kind} literal") from None
    return _check_scalar("allowed value", value, kind)


def _options_kind(body: str) -> str:
    """The element kind the allowed values of an empty list's ``each one of`` imply."""
    try:
        kinds = {_SCALARS.get(type(ast.literal_eval(v.strip())), "any") for v in body.split(",")}
    except (ValueError, SyntaxError):
        return "str"
    return kinds.pop() if len(kinds) == 1 else "float" if kinds == {"int", "float"} else "any"


def parse_clause(text: str, param: Parameter) -> tuple[Clause, Parameter]:
    """Clause ``text`` of ``param`` (see :class:`Clause`), and ``param`` with an empty list's element kind
    refined when the clause implies it (``each length``: str; ``each one of``: the values' kind)."""
    match = _CLAUSE_RE.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a clause: expected `in [a, b]`, `one of a, b`, `length [a, b]`, "
                         "each optionally after `each` (for the elements of a list)")  # fmt: skip
    each, what, body = bool(match["each"]), match["what"], match["body"]
    listed = param.kind in ("list", "tuple")
    if each and not listed:
        raise ValueError(f"`each` applies to lists; {param.name!r} is {param.type_name}")
    if listed and each and param.element == "any" and what in ("length", "one of"):
        param = replace(param, element="str" if what == "length" else _options_kind(body))
    kind = param.element if each else param.kind
    if what == "length":
        if kind not in ("str", "list", "tuple"):
            raise ValueError(f"`length` applies to text and lists; {param.name!r} {'holds' if each else 'is'} {kind}")
        constraint: Constraint = parse_interval(body, integer=True)
    elif listed and not each:
        raise ValueError(f"{param.name!r} is a list: write `each {what} ...` for its elements")
    elif what == "in":
        if kind not in ("int", "float"):
            raise ValueError(f"`in` bounds numbers; {param.name!r} {'holds' if each else 'is'} {kind}")
        constraint = parse_interval(body, integer=kind == "int")
    else:
        constraint = Options(_option(v, kind) for v in body.split(","))
    return Clause(what, body.strip(), constraint, each=each), param


def _declare(param: Parameter, clauses: list[str]) -> Parameter:
    """``param`` with its clauses parsed; its default must obey them."""
    parsed = []
    for text in clauses:
        clause, param = parse_clause(text, param)
        parsed.append(clause)
    param = replace(param, clauses=tuple(parsed))
    try:
        param.check(param.default)
    except ValueError as err:
        raise ValueError(f"its default breaks its declared values ({err})") from None
    return param


def _comments(source: str) -> dict[int, tuple[str, bool]]:
    """Line number -> (comment text without ``#``, whether it continues the line above: a comment-only line
    indented by two or more spaces after its ``#``, or starting with ``|``)."""
    lines = source.splitlines()
    comments = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            row = tok.start[0]
            text = tok.string.lstrip("#")
            alone = lines[row - 1].lstrip().startswith("#")
            continues = alone and (text.startswith("  ") or text.strip().startswith("|"))
            comments[row] = (text.strip(), continues)
    return comments


def _comment_of(comments: Mapping[int, tuple[str, bool]], row: int) -> str:
    """The comment of the parameter ending on line ``row``, continued by the comment-only lines right after it
    that are indented (``#   more words | clause``) or start with ``|``: a comment too long for one line goes on."""
    text = comments.get(row, ("", False))[0]
    while (nxt := comments.get(row + 1)) is not None and nxt[1]:
        text, row = f"{text} {nxt[0]}", row + 1
    return text


def parse_parameters(source: str, *, origin: str = "<parameters cell>") -> dict[str, Parameter]:
    """Parse a parameters cell: ``name = literal  # description | clause | ...`` lines, via ``ast``
    (a comment that does not fit on the line goes on on comment-only lines right after it, indented
    ``#   more words | clause`` or starting with ``|``).

    Raises ValueError for anything else (expressions, tuple targets, calls, a malformed clause, a
    default that breaks its own clauses), naming the line.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise ValueError(f"{origin}: the parameters cell is not valid Python: {err}") from err
    comments = _comments(source)
    params: dict[str, Parameter] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            target, value_node = node.targets[0].id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            target, value_node = node.target.id, node.value
        else:
            raise ValueError(
                f"{origin}, line {node.lineno}: parameters cells may only hold `name = literal  # description` lines"
            )
        try:
            default = ast.literal_eval(value_node)
        except ValueError as err:
            raise ValueError(
                f"{origin}, line {node.lineno}: the default of {target!r} must be a literal "
                f"(number, str, bool, None, list/tuple of those), got `{ast.unparse(value_node)}`"
            ) from err
        description, *clauses = _comment_of(comments, node.end_lineno or node.lineno).split(CLAUSE_SEPARATOR)
        try:
            params[target] = _declare(_infer(target, default, description.strip()), clauses)
        except ValueError as err:
            raise ValueError(f"{origin}, line {node.lineno}: parameter {target!r}: {err}") from None
    return params


def read_notebook(path: str | os.PathLike[str]) -> Any:
    """The notebook at ``path`` (a Jupytext ``.py`` file), as an nbformat notebook node."""
    import jupytext

    return jupytext.read(path)


def _parameters_cell(nb, origin: str) -> str:
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"{origin}: expected exactly one code cell tagged 'parameters', found {len(cells)}")
    return cells[0].source


@functools.lru_cache(maxsize=32)
def _parameters_of(path: str, mtime_ns: int, size: int) -> dict[str, Parameter]:
    """The parsed parameters cell of the notebook file ``path`` as it is at ``mtime_ns`` / ``size`` (memoised:
    reading a notebook with jupytext takes a tenth of a second)."""
    return parse_parameters(_parameters_cell(read_notebook(path), path), origin=Path(path).name)


def notebook_parameters(name: str | os.PathLike[str]) -> dict[str, Parameter]:
    """The parameters of a notebook (name -> Parameter), in cell order."""
    path = resolve_notebook(name)
    stat = path.stat()
    return dict(_parameters_of(str(path), stat.st_mtime_ns, stat.st_size))


def describe_parameters(params: Mapping[str, Parameter]) -> str:
    """``name: type = default  # description | allowed values`` lines, for ``advgeom list``."""
    if not params:
        return "  (no parameters)"
    width = max(len(p.name) + len(p.type_name) for p in params.values()) + 2
    lines = []
    for p in params.values():
        head = f"{p.name}: {p.type_name}".ljust(width)
        comment = CLAUSE_SEPARATOR.join(part for part in (p.description, p.allowed) if part)
        lines.append(f"  {head} = {p.default!r}" + (f"  # {comment}" if comment else ""))
    return "\n".join(lines)


def validate_params(
    spec: Mapping[str, Parameter], values: Mapping[str, Any], *, notebook: str = "notebook"
) -> dict[str, Any]:
    """Check names, types and declared values of ``values`` against ``spec``; return them converted for injection.

    A bad name or value raises ValueError with a one-line message (``advgeom list`` shows every parameter).
    """
    unknown = [k for k in values if k not in spec]
    if unknown:
        valid = ", ".join(f"{p.name} ({p.type_name})" for p in spec.values()) or "(none)"
        raise ValueError(f"{notebook} has no parameter(s) {', '.join(map(repr, unknown))}; valid parameters: {valid}")
    out: dict[str, Any] = {}
    for key, value in values.items():
        try:
            out[key] = spec[key].check(value)
        except ValueError as err:
            raise ValueError(f"{notebook}: {err}; the default is {spec[key].default!r}") from None
    return out


def _nesting_depth(text: str) -> int:
    """The deepest bracket nesting of ``text`` (quotes are not looked into: a safe over-estimate)."""
    depth = deepest = 0
    for char in text:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    return deepest


def parse_value(text: str, expected: Parameter | None = None) -> Any:
    """Parse a command-line VALUE like papermill's ``-p``/``-y``: a Python literal, else YAML,
    else the raw string. A ``str`` parameter keeps the raw text unless it is a quoted string.

    Text longer than :data:`MAX_VALUE_CHARS` or nested deeper than :data:`MAX_VALUE_DEPTH` is refused
    (ValueError naming the parameter) before any parser sees it.
    """
    if expected is not None and expected.kind == "str" and text[:1] not in ("'", '"'):
        return text
    what = f"the value of {expected.name!r}" if expected is not None else "a parameter value"
    if len(text) > MAX_VALUE_CHARS:
        raise ValueError(f"{what} is {len(text)} characters long; at most {MAX_VALUE_CHARS} are read")
    if _nesting_depth(text) > MAX_VALUE_DEPTH:
        raise ValueError(f"{what} is nested {_nesting_depth(text)} levels deep; at most {MAX_VALUE_DEPTH} are read")
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        import yaml

        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            value = text
    if expected is not None and expected.kind == "str" and not isinstance(value, str):
        return text
    return value


def format_value(value: Any, expected: Parameter | None = None) -> str:
    """The text of ``-p NAME VALUE`` that :func:`parse_value` reads back as ``value``.

    ``expected`` is the notebook's :class:`Parameter` (a ``str`` parameter keeps raw text).
    """
    candidates = [value] if isinstance(value, str) else []
    candidates.append(repr(list(value)) if isinstance(value, tuple) else repr(value))
    for text in candidates:
        if same_value(parse_value(text, expected), value):
            return text
    raise ValueError(f"value {value!r} cannot be written as a command-line literal")


def same_value(a: Any, b: Any) -> bool:
    """Equal values of the same types (lists and tuples compared element-wise): ``2`` is not ``2.0``."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


# ------------------------------------------------------------------ chapter data


def _data_file(folder: str | os.PathLike[str] | None, name: str) -> Path:
    return (Path(folder) if folder is not None else notebooks_dir()) / name


def _shown(path: Path) -> str:
    """``path`` relative to the repository root when it lies inside it (for messages)."""
    try:
        return path.resolve().relative_to(repo_root()).as_posix()
    except ValueError:
        return str(path)


def _chapter_data(folder: str | os.PathLike[str] | None) -> tuple[Path, dict[str, dict[str, Any]]]:
    """``presets.toml`` of ``folder`` parsed and checked: ``stem -> {"presets": ..., "estimates": ...}``.

    A missing file means no presets and no estimates. Anything else than tables of presets (tables of
    parameter values) and of estimates (strings) raises ``ValueError`` naming the file.
    """
    path = _data_file(folder, PRESETS_FILE)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return path, {}
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{_shown(path)} is not valid TOML: {err}") from None
    for stem, chapter in data.items():
        where = f"{_shown(path)}, chapter {stem!r}"
        if not isinstance(chapter, dict) or set(chapter) - {"presets", "estimates"}:
            raise ValueError(f"{where}: expected only the tables [{stem}.presets.NAME] and [{stem}.estimates]")
        for name, values in chapter.get("presets", {}).items():
            if not isinstance(values, dict):
                raise ValueError(f"{where}: preset {name!r} must be a table of parameter values")
        for name, text in chapter.get("estimates", {}).items():
            if not isinstance(text, str):
                raise ValueError(f"{where}: estimate {name!r} must be a string, got {text!r}")
    return path, data


def load_presets(folder: str | os.PathLike[str] | None = None) -> dict[str, dict[str, dict[str, Any]]]:
    """``stem -> preset name -> parameter overrides`` from ``<folder>/presets.toml`` (default folder: the
    repository's ``notebooks/``; no file: no presets). Values keep their TOML types (``2`` is an int,
    ``2.0`` a float), which :func:`validate_params` checks against the parameters cell."""
    _, data = _chapter_data(folder)
    return {stem: dict(chapter.get("presets", {})) for stem, chapter in data.items() if chapter.get("presets")}


def load_estimates(folder: str | os.PathLike[str] | None = None) -> dict[str, dict[str, str]]:
    """``stem -> preset name (or "default") -> human-written run time`` from ``<folder>/presets.toml``."""
    _, data = _chapter_data(folder)
    return {stem: dict(chapter["estimates"]) for stem, chapter in data.items() if chapter.get("estimates")}


def get_preset(stem: str, preset: str, folder: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The raw overrides of ``preset`` for notebook ``stem`` (ValueError listing presets if unknown)."""
    path, data = _chapter_data(folder)
    available = data.get(stem, {}).get("presets", {})
    if preset not in available:
        raise ValueError(
            f"notebook {stem} has no preset {preset!r}; available: {sorted(available) or '(none)'}"
            f" (presets are defined in {_shown(path)})"
        )
    return dict(available[preset])


def resolve_params(
    name: str | os.PathLike[str], params: Mapping[str, Any] | None = None, preset: str | None = None
) -> tuple[Path, dict[str, Any]]:
    """Notebook path and validated overrides: the preset's, updated by ``params``."""
    path = resolve_notebook(name)
    spec = notebook_parameters(path)
    merged: dict[str, Any] = {}
    if preset is not None:
        merged.update(validate_params(spec, get_preset(path.stem, preset), notebook=f"{path.stem} preset {preset!r}"))
    merged.update(validate_params(spec, dict(params or {}), notebook=path.stem))
    return path, merged


class GlanceSentence(NamedTuple):
    """One sentence of the landing page: ``{key}`` in ``sentence`` becomes the value ``chapter`` glued as ``key``."""

    chapter: str
    keys: tuple[str, ...]
    sentence: str


@dataclass(frozen=True)
class Glance:
    """The landing page's *findings at a glance*, as ``notebooks/glance.yml`` describes it.

    ``figure`` is ``(chapter stem, glue key)`` of the figure shown under the sentences (None: no figure);
    ``plain_keys`` are glued with the number format ``g``, every other key with ``.2f``.
    """

    sentences: tuple[GlanceSentence, ...] = ()
    figure: tuple[str, str] | None = None
    caption: str = ""
    plain_keys: tuple[str, ...] = ()


def load_glance(folder: str | os.PathLike[str] | None = None) -> Glance:
    """Read ``<folder>/glance.yml`` (default folder: the repository's ``notebooks/``; no file: an empty
    summary). Keys: ``sentences`` (a list of ``chapter``, ``keys``, ``sentence``), ``figure`` (``chapter``
    and ``key``), ``caption``, ``plain_keys``. A malformed file raises ``ValueError`` naming it."""
    import yaml

    path = _data_file(folder, GLANCE_FILE)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Glance()
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise ValueError(f"{_shown(path)} is not valid YAML: {err}") from None

    def fail(what: str) -> ValueError:
        return ValueError(f"{_shown(path)}: {what}")

    def strings(value: Any, what: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(f"{what} must be a list of strings, got {value!r}")
        return tuple(value)

    if not isinstance(data, dict) or set(data) - {"sentences", "figure", "caption", "plain_keys"}:
        raise fail("expected only the keys sentences, figure, caption and plain_keys")
    sentences = []
    for i, item in enumerate(data.get("sentences") or []):
        if not isinstance(item, dict) or set(item) != {"chapter", "keys", "sentence"}:
            raise fail(f"sentence {i} must have exactly the keys chapter, keys and sentence")
        if not isinstance(item["chapter"], str) or not isinstance(item["sentence"], str):
            raise fail(f"sentence {i}: chapter and sentence must be strings")
        keys = strings(item["keys"], f"sentence {i}: keys")
        sentences.append(GlanceSentence(item["chapter"], keys, item["sentence"]))
    figure = data.get("figure")
    if figure is not None:
        if not isinstance(figure, dict) or set(figure) != {"chapter", "key"}:
            raise fail("figure must have exactly the keys chapter and key")
        figure = (str(figure["chapter"]), str(figure["key"]))
    caption = data.get("caption") or ""
    if not isinstance(caption, str):
        raise fail(f"caption must be a string, got {caption!r}")
    plain = strings(data.get("plain_keys") or [], "plain_keys")
    return Glance(tuple(sentences), figure, caption, plain)


# ------------------------------------------------------------------ glued values


def glued_values(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``name -> value`` of every ``myst_nb.glue`` output in an executed notebook.

    Values are read back from their ``text/plain`` form: Python literals (numbers, strings, lists,
    dicts) are evaluated, anything else (charts, tables) is returned as its text.
    """
    import nbformat

    values: dict[str, Any] = {}
    for cell in nbformat.read(Path(path), as_version=4).cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if not name:
                continue
            text = output.get("data", {}).get("application/papermill.record/text/plain", "")
            try:
                values[name] = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                values[name] = text
    return values


def published_tables(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The tables an executed notebook published (:func:`advgeom.book.charts.publish`), in output order: each
    a mapping with ``name``, ``title``, ``chapter``, ``identifiers``, ``values``, ``columns`` and
    ``records`` (:func:`advgeom.book.charts.table_frame` makes it a DataFrame)."""
    import nbformat

    return [dict(output["data"][TABLE_MIME])
            for cell in nbformat.read(Path(path), as_version=4).cells
            for output in cell.get("outputs", []) if TABLE_MIME in output.get("data", {})]  # fmt: skip


def notebook_title(path: str | os.PathLike[str]) -> str | None:
    """The first level-1 heading (``# Title``) in the markdown cells of the ``.ipynb`` at ``path``, or None."""
    import nbformat

    for cell in nbformat.read(Path(path), as_version=4).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return None


def glue_names_in_prose(name: str | os.PathLike[str]) -> set[str]:
    """Names a notebook's markdown refers to with ``{glue:...}`name``` roles or ``{glue:figure}`` directives."""
    source = resolve_notebook(name).read_text()
    used = set(re.findall(r"\{glue(?::text|:figure|:any|:md)?\}`([A-Za-z0-9_]+)", source))
    return used | set(re.findall(r"\{glue:figure\}\s+([A-Za-z0-9_]+)", source))
