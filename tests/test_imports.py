"""No import circle anywhere in ganzoo/: every import (at module level or inside a function) of one ganzoo module by
another is an edge, and the graph must have no cycle. A package's ``__init__`` importing its own modules is how
packages work and is left out (``from ganzoo.train import distributed`` is an edge to the module, not the package)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "ganzoo"


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imports(tree: ast.AST, modules: set[str]) -> set[str]:
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in modules else node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {m for m in found if m in modules}


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in files.items():
        edges = _imports(ast.parse(path.read_text()), set(files))
        if path.name == "__init__.py":
            edges = {e for e in edges if not e.startswith(name + ".")}
        graph[name] = edges - {name}
    return graph


def _find_cycle(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start)
            if cycle:
                return cycle
    return []


def test_the_graph_sees_real_edges() -> None:
    graph = _graph()
    assert "ganzoo.train.models" in graph["ganzoo.train.loop"]
    assert "ganzoo.train.run" in graph["ganzoo.train.config"]  # a function-level import counts too


def test_no_import_circle_in_ganzoo() -> None:
    cycle = _find_cycle(_graph())
    assert not cycle, "import circle: " + " -> ".join(cycle)


def test_sampling_and_evaluation_import_nothing_from_the_training_loop() -> None:
    graph = _graph()
    for module in ("ganzoo.train.sample", "ganzoo.evaluate"):
        assert "ganzoo.train.loop" not in graph[module]
