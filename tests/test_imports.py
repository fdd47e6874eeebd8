"""The package's imports show its structure: no import cycle, hydrointerp imports at module level.

Walks the syntax tree of every module under ``src/hydrointerp`` (nothing is imported). An edge
``a -> b`` is an import of ``b`` that runs when ``a`` is imported: module level or class level,
not inside a function and not under ``if TYPE_CHECKING:``. ``from pkg import name`` is an edge
to ``pkg.name`` when that is a module, else to ``pkg``. A package's ``__init__`` that a submodule
import runs implicitly is not an edge (packages import their own submodules by design).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src" / "hydrointerp"

#: Files whose function-local hydrointerp imports stay for now, with the reason.
LOCAL_IMPORTS_ALLOWED = {
    "__init__.py": "the lazy public API: `import hydrointerp` must not load torch",
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(node: ast.Import | ast.ImportFrom, module: str) -> list[str]:
    """hydrointerp modules an import statement in ``module`` loads."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "hydrointerp"]
    base = node.module or ""
    if node.level:
        package = module.split(".")
        if not MODULES[module].name == "__init__.py":
            package = package[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, *([base] if base else [])])
    if base.split(".")[0] != "hydrointerp":
        return []
    out = []
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        out.append(sub if sub in MODULES else base)
    return out


def _walk(tree: ast.AST, module: str) -> tuple[set[str], list[tuple[int, str]]]:
    """(modules imported at import time, [(line, module)] imported inside functions)."""
    eager: set[str] = set()
    local: list[tuple[int, str]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(ast.Module(body=[sub], type_ignores=[]), in_function)
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                found = _targets(child, module)
                if in_function:
                    local.extend((child.lineno, t) for t in found)
                else:
                    eager.update(found)
                continue
            fn = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            visit(child, in_function or fn)

    visit(tree, False)
    return eager, local


def _graph() -> tuple[dict[str, set[str]], dict[str, list[tuple[int, str]]]]:
    edges, local = {}, {}
    for name, path in MODULES.items():
        eager, inside = _walk(ast.parse(path.read_text(encoding="utf-8")), name)
        edges[name] = {t for t in eager if t in MODULES and t != name}
        local[name] = inside
    return edges, local


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def test_the_walk_sees_a_known_cycle_and_a_known_edge() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(edges) == [["a", "b", "c"]]
    real, _ = _graph()
    assert "hydrointerp.data.virtual" in real["hydrointerp.data.virtual_predictor"]
    assert "hydrointerp.predictor" in real["hydrointerp.models.ensemble"]


def test_no_import_cycle_inside_hydrointerp() -> None:
    edges, _ = _graph()
    assert _cycles(edges) == []


def test_hydrointerp_modules_are_imported_at_module_level() -> None:
    _, local = _graph()
    offenders = [
        f"{MODULES[m].relative_to(ROOT)}:{line} imports {target}"
        for m, found in sorted(local.items())
        if str(MODULES[m].relative_to(ROOT)) not in LOCAL_IMPORTS_ALLOWED
        for line, target in found
    ]
    assert offenders == []
