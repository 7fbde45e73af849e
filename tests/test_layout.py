"""The package's shape: no import circle anywhere, the science never imports the book side, no private names
imported across modules, every module importable, and the README's layout table matching the folders."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "advgeom"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(path: Path) -> set[tuple[str, str | None]]:
    """``(module, name)`` of every ``import advgeom...`` / ``from advgeom... import name``, at any depth
    (function-level imports too: a circle hidden inside a function is still a circle)."""
    out: set[tuple[str, str | None]] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {(alias.name, None) for alias in node.names if alias.name.startswith("advgeom")}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("advgeom"):
            out |= {(node.module, alias.name) for alias in node.names}
    return out


def dependencies(module: str) -> set[str]:
    """The advgeom modules ``module`` imports (``from pkg import sub`` counts as importing ``pkg.sub``)."""
    deps = set()
    for target, name in imported(MODULES[module]):
        if name is not None and f"{target}.{name}" in MODULES:
            deps.add(f"{target}.{name}")
        elif target in MODULES:
            deps.add(target)
    # a package's __init__ re-exports its modules; importing a module of a package runs its __init__ first
    return {d for d in deps if d != module and not module.startswith(d + ".")}


def test_every_module_imports() -> None:
    for name in MODULES:
        importlib.import_module(name)


def test_no_import_circle() -> None:
    graph = {m: dependencies(m) for m in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert not circles, f"import circles: {circles}"


def test_the_science_never_imports_the_book_side() -> None:
    book_side = {m for m in MODULES if m == "advgeom.book" or m.startswith("advgeom.book.")}
    allowed = book_side | {"advgeom.cli", "advgeom.__main__"}
    offenders = {m: sorted(dependencies(m) & book_side) for m in MODULES if m not in allowed}
    assert not {m: d for m, d in offenders.items() if d}, offenders


def test_no_private_name_is_imported_from_another_module() -> None:
    offenders = []
    for module, path in MODULES.items():
        for target, name in imported(path):
            if name is not None and name.startswith("_") and target != module:
                offenders.append(f"{module}: from {target} import {name}")
    assert not offenders, offenders


def layout_table() -> list[str]:
    """The paths in the first column of the README's layout table (``| `path`, `path` | what |``)."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    cells = re.findall(r"^\| ([^|]+) \|", section, flags=re.MULTILINE)
    return [path for cell in cells for path in re.findall(r"`([^`]+)`", cell)]


def test_readme_layout_table_matches_the_folders() -> None:
    listed = layout_table()
    assert listed, "README.md has no layout table under '## Layout'"
    missing = [p for p in listed if not (ROOT / p.rstrip("/")).exists()]
    assert not missing, f"README layout names paths that do not exist: {missing}"
    subpackages = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())
    modules = sorted(p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("_"))
    named = " ".join(listed)
    unlisted = [f"advgeom/{n}/" for n in subpackages if f"advgeom/{n}/" not in named]
    unlisted += [f"advgeom/{n}.py" for n in modules if f"advgeom/{n}.py" not in named]
    assert not unlisted, f"README layout table does not list: {unlisted}"


@pytest.mark.parametrize("folder", ["advgeom", "advgeom/analysis", "advgeom/zoo", "advgeom/book"])
def test_tests_mirror_the_package(folder: str) -> None:
    """Every module of these packages has its test file at the mirrored path."""
    here = ROOT / folder
    if not here.is_dir():
        pytest.fail(f"{folder} does not exist")
    tests = ROOT / "tests" / Path(folder).relative_to("advgeom")
    untested = [
        p.name for p in sorted(here.glob("*.py"))
        if not p.stem.startswith("_") and not (tests / f"test_{p.stem}.py").is_file()
    ]  # fmt: skip
    assert not untested, f"{folder}: no tests/{tests.relative_to(ROOT / 'tests')}/test_<module>.py for {untested}"


def test_no_merge_conflict_is_left_in_a_tracked_file() -> None:
    """A merge leaves ``<<<<<<<``/``>>>>>>>`` lines where it could not decide; none may be committed."""
    import subprocess

    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    marker = re.compile(r"^(<{7}|>{7})( |$)", re.MULTILINE)
    left = [name for name in files
            if (ROOT / name).is_file() and (ROOT / name).stat().st_size < 2_000_000
            and marker.search((ROOT / name).read_text(errors="replace"))]  # fmt: skip
    assert files and not left, f"merge conflict markers in {left}"
