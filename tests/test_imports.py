"""No import circles in app/: the import graph is acyclic, and every module imports on its own.

`test_the_import_graph_has_no_cycle` reads every `import` and `from ... import` in app/ with
ast (at module level, in functions, and under `if TYPE_CHECKING:`) and fails naming the
cycle it finds. `test_every_module_imports_first` imports each module as the first app module
of its interpreter, so a module that works only when another was imported before it fails.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"
# Scripts alembic loads itself (env.py runs a migration): in the graph, not imported alone.
NOT_IMPORTABLE = ("app.__main__", "app.storage.migrations")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def app_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(APP.rglob("*.py"))}


def imported(name: str, path: Path, modules: dict[str, Path]) -> Iterator[str]:
    """The app modules `name` imports anywhere in its source (a `from package import module`
    names the module, a `from module import thing` the module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        yield from (t for t in targets if t in modules and t != name)


def import_graph() -> dict[str, set[str]]:
    modules = app_modules()
    return {name: set(imported(name, path, modules)) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path a -> ... -> a) of each strongly connected component that has one."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:  # Tarjan's algorithm; app/ is small enough for recursion
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component: set[str] = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(path_around(graph, component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def path_around(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest cycle through the component's first module, for the failure message."""
    start = min(component)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for v in frontier:
            for w in sorted(graph[v] & component):
                if w == start:
                    chain = [v]
                    while chain[-1] != start:
                        chain.append(previous[chain[-1]])
                    return [*reversed(chain), start]
                if w not in previous:
                    previous[w] = v
                    following.append(w)
        frontier = following
    raise AssertionError(f"no cycle through {start}")


def test_the_cycle_finder_names_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_reader_sees_every_import(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from app.a import Thing\n"
        "def f():\n    import app.b\n"
        "from . import c\nfrom .d import thing\nimport numpy\n"
    )
    modules = dict.fromkeys(["app.pkg.m", "app.a", "app.b", "app.pkg.c", "app.pkg.d"], source)
    assert set(imported("app.pkg.m", source, modules)) == {"app.a", "app.b", "app.pkg.c", "app.pkg.d"}


def test_the_import_graph_has_no_cycle() -> None:
    graph = import_graph()
    assert "app.jobs.runner" in graph["app.automation.system"]  # the reader sees imports
    assert "app.storage.db" in graph["app.commands.worker"]  # ... in functions too
    found = cycles(graph)
    assert not found, "import cycles in app/:\n" + "\n".join(" -> ".join(c) for c in found)


# A fresh interpreter imports the third-party libraries app/ uses (never an app module), then
# forks one child per module, which imports that module first: as fresh as a new interpreter
# for app/, without paying pandas' and SQLAlchemy's import once per module.
FIRST_IMPORT = """
import importlib, json, multiprocessing, sys, traceback

modules, libraries = json.loads(sys.stdin.read())
for library in libraries:
    try:
        importlib.import_module(library)
    except ImportError:  # `from x import y` of a name that is not a module
        pass
assert not [m for m in sys.modules if m == "app" or m.startswith("app.")]

def first(name):
    try:
        importlib.import_module(name)
    except BaseException:
        return name, traceback.format_exc()
    return name, None

with multiprocessing.get_context("fork").Pool(4, maxtasksperchild=1) as pool:
    failed = {name: error for name, error in pool.imap_unordered(first, modules) if error}
print(json.dumps(failed))
"""


def libraries(modules: dict[str, Path]) -> list[str]:
    """The modules outside app/ that app/ imports (and, after `from x import y`, x.y, which may be one)."""
    names: set[str] = set()
    for path in modules.values():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names.update([node.module, *(f"{node.module}.{alias.name}" for alias in node.names)])
    return sorted(n for n in names if n.split(".")[0] not in ("app", "__future__"))


def test_every_module_imports_first() -> None:
    modules = app_modules()
    names = [m for m in modules if not m.startswith(NOT_IMPORTABLE)]
    done = subprocess.run(
        [sys.executable, "-c", FIRST_IMPORT],
        input=json.dumps([names, libraries(modules)]),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    failed: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
    assert not failed, "modules that fail as the first import:\n" + "\n".join(
        f"{name}:\n{error}" for name, error in sorted(failed.items())
    )
