"""The project's import graph, read from the source (nothing is imported): modules, edges, cycles, contracts.

Usage: python tools/import_graph.py [--map]   (prints cycles and contract breaches; --map prints the package map)
tests/test_layout.py asserts what this finds.
"""
from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("etl", "jobs", "hockeyops", "samples")


@dataclass(frozen=True)
class Edge:
    """``source`` imports ``target`` at ``line``; ``local`` when the import sits inside a function."""

    source: str
    target: str
    line: int
    local: bool
    type_only: bool = False


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    """Every project module (migrations excluded) by dotted name."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                found[module_name(path)] = path
    return found


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The project module ``name`` refers to (itself, or the package holding it), or None when external."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def _absolute(module: str, is_package: bool, level: int, target: str | None) -> str:
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def edges() -> list[Edge]:
    """Every import between project modules."""
    known = modules()
    found: list[Edge] = []
    for module, path in known.items():
        tree = ast.parse(path.read_text(), str(path))
        is_package = path.name == "__init__.py"
        type_only_lines: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                type_only_lines |= {n.lineno for n in ast.walk(node) if hasattr(n, "lineno")}
        local_lines: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                local_lines |= {n.lineno for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom)}
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(module, is_package, node.level, node.module) if node.level else (node.module or "")
                names = [f"{base}.{a.name}" for a in node.names] or [base]
            for name in names:
                target = _resolve(name, known)
                if target and target != module:
                    found.append(Edge(module, target, node.lineno, node.lineno in local_lines,
                                      node.lineno in type_only_lines))
    return found


def cycles(graph_edges: list[Edge]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), type-only imports ignored."""
    graph: dict[str, set[str]] = {}
    for e in graph_edges:
        if not e.type_only and not e.target.startswith(e.source + "."):  # a package importing its own modules
            graph.setdefault(e.source, set()).add(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(10_000)

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
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
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def external_imports(package: str) -> dict[str, set[str]]:
    """Top-level external packages imported by each module of ``package``."""
    found: dict[str, set[str]] = {}
    for module, path in modules().items():
        if module.split(".")[0] != package:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.setdefault(module, set()).update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                found.setdefault(module, set()).add(node.module.split(".")[0])
    return found


# Contracts: (importer package, forbidden package, why).
FORBIDDEN = (
    ("etl", "jobs", "the pipeline library knows nothing of the job manager"),
    ("etl", "hockeyops", "the pipeline library knows nothing of the Django project"),
    ("etl", "django", "the pipeline library is Django-free"),
    ("etl", "celery", "the pipeline library is Celery-free"),
    ("etl", "samples", "runtime code does not depend on the sample league generator"),
    ("jobs", "samples", "runtime code does not depend on the sample league generator (the demo command may)"),
)
ALLOWED = {("jobs.management.commands.demo", "samples"), ("jobs.management.commands.sample_league", "samples")}


def breaches() -> list[str]:
    """Contract breaches as sentences."""
    found = []
    internal = edges()
    for importer, forbidden, why in FORBIDDEN:
        for e in internal:
            if e.source.split(".")[0] == importer and e.target.split(".")[0] == forbidden \
                    and (e.source, forbidden) not in ALLOWED:
                found.append(f"{e.source} imports {e.target} (line {e.line}): {why}")
        for module, names in external_imports(importer).items():
            if forbidden in names and (module, forbidden) not in ALLOWED:
                found.append(f"{module} imports {forbidden}: {why}")
    return found


def package_map() -> dict[str, str]:
    """Each package (directory with an __init__.py) and the first line of its docstring."""
    found = {}
    for module, path in modules().items():
        if path.name == "__init__.py":
            doc = ast.get_docstring(ast.parse(path.read_text())) or ""
            found[module] = doc.strip().splitlines()[0] if doc.strip() else ""
    return found


def main() -> None:
    graph_edges = edges()
    local = [e for e in graph_edges if e.local]
    print(f"{len(modules())} modules, {len(graph_edges)} internal imports ({len(local)} inside functions)")
    for c in cycles(graph_edges):
        print("cycle:", " <-> ".join(c))
    for b in breaches():
        print("breach:", b)
    if "--map" in sys.argv:
        for name, doc in sorted(package_map().items()):
            print(f"{name:28s} {doc}")


if __name__ == "__main__":
    main()
