"""No import cycle in src/genlab: every module's imports, at module level and inside functions, read from
the source with `ast` (nothing is imported), must form a graph without cycles.

An edge A -> B is an explicit import of B in A's file (``import B``, ``from B import name``, relative forms
resolved; ``from P import name`` is an edge to the submodule P.name when that is a module, else to P). The
implicit import of a package's ``__init__`` when one of its submodules is imported is not an edge: a
package that imports its submodules so that they register themselves is not a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import genlab

SRC = Path(genlab.__file__).resolve().parent


def module_files(package_dir: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under the package folder."""
    out = {}
    for file in sorted(package_dir.rglob("*.py")):
        parts = list(file.relative_to(package_dir.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = file
    return out


def _imported(module: str, file: Path, node: ast.Import | ast.ImportFrom, modules: dict[str, Path]) -> list[str]:
    """The modules of `modules` that one import statement names."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        package = module.split(".") if file.name == "__init__.py" else module.split(".")[:-1]
        base = package[: len(package) - node.level + 1] if node.level else []
        origin = ".".join(base + ([node.module] if node.module else []))
        names = [f"{origin}.{a.name}" if f"{origin}.{a.name}" in modules else origin for a in node.names]
    found = []
    for name in names:
        while name and name not in modules:  # `import genlab.x.y` names genlab.x.y, or its closest module
            name = name.rpartition(".")[0]
        if name and name != module:
            found.append(name)
    return found


def import_graph(package_dir: Path) -> dict[str, dict[str, int]]:
    """module -> {imported module: line of the first such import}, over every import statement."""
    modules = module_files(package_dir)
    graph: dict[str, dict[str, int]] = {}
    for module, file in modules.items():
        edges: dict[str, int] = {}
        for node in ast.walk(ast.parse(file.read_text(), str(file))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _imported(module, file, node, modules):
                    edges.setdefault(target, node.lineno)
        graph[module] = edges
    return graph


def find_cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle (as a closed path a -> ... -> a) per strongly connected component of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's algorithm (the graph is small: recursion is fine)
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_path_within(graph, set(c)) for c in components]


def _path_within(graph: dict[str, dict[str, int]], members: set[str]) -> list[str]:
    """A closed path through a strongly connected component, starting at its first module by name."""
    start = min(members)
    parents, frontier = {start: None}, [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v]):
                if w == start:
                    path = [v]
                    while parents[path[-1]] is not None:
                        path.append(parents[path[-1]])
                    return [start, *reversed(path[:-1]), start] if len(path) > 1 else [start, v, start]
                if w in members and w not in parents:
                    parents[w] = v
                    nxt.append(w)
        frontier = nxt
    raise AssertionError("not a strongly connected component")


def describe(cycle: list[str], graph: dict[str, dict[str, int]], modules: dict[str, Path]) -> str:
    return " -> ".join(cycle) + "\n" + "\n".join(
        f"    {modules[a].relative_to(SRC.parent)}:{graph[a][b]} imports {b}" for a, b in zip(cycle, cycle[1:]))


def test_src_has_no_import_cycle():
    graph = import_graph(SRC)
    assert len(graph) > 40 and "genlab.metrics.base" in graph["genlab.metrics.likelihood"]
    cycles = find_cycles(graph)
    modules = module_files(SRC)
    assert not cycles, "import cycles in src/genlab:\n" + "\n".join(describe(c, graph, modules) for c in cycles)


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_a_cycle_through_a_function_level_import_is_found(tmp_path):
    root = _package(tmp_path, {
        "__init__.py": "",
        "a.py": "from .b import g\n",
        "b.py": "def g():\n    from . import c\n",
        "c.py": "import pkg.sub.d\n",
        "sub/__init__.py": "",
        "sub/d.py": "def h():\n    from ..a import x\n",
    })
    graph = import_graph(root)
    assert graph["pkg.b"] == {"pkg.c": 2} and graph["pkg.sub.d"] == {"pkg.a": 2}
    assert find_cycles(graph) == [["pkg.a", "pkg.b", "pkg.c", "pkg.sub.d", "pkg.a"]]


def test_a_package_that_imports_its_registering_submodules_is_not_a_cycle(tmp_path):
    root = _package(tmp_path, {
        "__init__.py": "",
        "metrics/__init__.py": "from . import one, two\n",
        "metrics/base.py": "REGISTRY = {}\n",
        "metrics/one.py": "from .base import REGISTRY\n",
        "metrics/two.py": "from pkg.metrics.base import REGISTRY\nfrom . import one\n",
    })
    graph = import_graph(root)
    assert graph["pkg.metrics"] == {"pkg.metrics.one": 1, "pkg.metrics.two": 1}
    assert graph["pkg.metrics.two"] == {"pkg.metrics.base": 1, "pkg.metrics.one": 2}
    assert find_cycles(graph) == []
    # ... but two submodules that import each other are one
    (root / "metrics" / "one.py").write_text("from . import two\n")
    (root / "metrics" / "two.py").write_text("from . import one\n")
    assert find_cycles(import_graph(root)) == [["pkg.metrics.one", "pkg.metrics.two", "pkg.metrics.one"]]
