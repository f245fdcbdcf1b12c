"""No import cycles under live/, between modules or between packages, counting imports
inside functions too (they tie modules together as much as top-level ones); and the
layering docs/architecture.md draws. A small AST reader, so it needs nothing installed."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from live.settings import PROJECT_ROOT

# A package may import these, never the other way round (docs/architecture.md).
FORBIDDEN = {
    "live.media": ("live.api", "live.app", "live.cli"),
    "live.routing": ("live.api", "live.media", "live.app", "live.cli"),
    "live.realtime": ("live.api", "live.app", "live.cli"),
    "live.commerce": ("live.api", "live.realtime", "live.media", "live.app", "live.cli"),
    "live.discovery": ("live.api", "live.realtime", "live.media", "live.commerce", "live.app"),
    "live.rooms": ("live.api", "live.realtime", "live.media", "live.commerce", "live.app"),
    "live.replay": ("live.api", "live.realtime", "live.media", "live.commerce", "live.app"),
    "live.redisdb": ("live.api", "live.realtime", "live.media", "live.commerce", "live.rooms"),
}


def modules(root: Path) -> dict[str, Path]:
    """Every module under `root` (a package directory) by its dotted name."""
    found = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _type_only(tree: ast.Module) -> set[int]:
    """Nodes under `if TYPE_CHECKING:`: types only, no tie at run time."""
    return {
        id(sub)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for stmt in node.body
        for sub in ast.walk(stmt)
    }


def imported(name: str, path: Path, known: dict[str, Path]) -> Iterator[str]:
    """The modules of `known` that module `name` imports, anywhere in its body."""
    tree = ast.parse(path.read_text())
    skip = _type_only(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, *([node.module] if node.module else [])])
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        for target in targets:
            # `import a.b.c` also runs a and a.b: the nearest known module counts.
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target


def import_graph(root: Path) -> dict[str, set[str]]:
    known = modules(root)
    return {name: set(imported(name, path, known)) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def package_graph(graph: dict[str, set[str]], root: str) -> dict[str, set[str]]:
    """The same graph between the root's parts (live.api, live.app, ...); the root's own
    `__init__` is left out (everything may read `live.__version__`)."""

    def part(name: str) -> str:
        return ".".join(name.split(".")[:2])

    parts: dict[str, set[str]] = {}
    for source, targets in graph.items():
        if source == root:
            continue
        edges = parts.setdefault(part(source), set())
        edges |= {part(t) for t in targets if t != root and part(t) != part(source)}
    return parts


def live_graph() -> dict[str, set[str]]:
    return import_graph(PROJECT_ROOT / "live")


def test_no_module_imports_itself_back() -> None:
    assert cycles(live_graph()) == []


def test_no_package_imports_itself_back() -> None:
    assert cycles(package_graph(live_graph(), "live")) == []


def test_packages_import_only_downward() -> None:
    graph = package_graph(live_graph(), "live")
    wrong = {
        (package, target)
        for package, never in FORBIDDEN.items()
        for target in graph.get(package, ())
        if target in never
    }
    assert wrong == set()


def test_the_checker_sees_lazy_and_package_cycles(tmp_path: Path) -> None:
    """The checks above can fail: a cycle made only by a function-level import is found,
    and so is one between packages whose modules form no cycle."""
    pkg = tmp_path / "demo"
    (pkg / "a").mkdir(parents=True)
    (pkg / "b").mkdir()
    for init in (pkg, pkg / "a", pkg / "b"):
        (init / "__init__.py").write_text("")
    (pkg / "one.py").write_text("import demo.two\n")
    (pkg / "two.py").write_text("def late():\n    from demo import one\n")
    (pkg / "a" / "x.py").write_text("from demo.b import y\n")
    (pkg / "b" / "y.py").write_text("")
    (pkg / "b" / "z.py").write_text("from ..a import x\n")
    graph = import_graph(pkg)
    assert cycles(graph) == [["demo.one", "demo.two"]]
    assert ["demo.a", "demo.b"] in cycles(package_graph(graph, "demo"))


def test_only_live_redisdb_imports_redis() -> None:
    """The one- and the cluster-mode client differ only inside live.redisdb (its errors
    module re-exports what the rest catches); a redis import elsewhere would bypass it."""
    root = PROJECT_ROOT / "live"
    importers = set()
    for name, path in modules(root).items():
        if name == "live.redisdb" or name.startswith("live.redisdb."):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                targets = [node.module or ""]
            else:
                continue
            if any(t == "redis" or t.startswith("redis.") for t in targets):
                importers.add(name)
    assert importers == set()
