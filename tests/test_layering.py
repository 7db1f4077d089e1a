"""The package layering, pinned so it cannot erode (docs/architecture.md, "Packages").

An AST walk over the package, lazy imports inside functions included:
- nothing under `domain/` reaches Flask, werkzeug or the HTTP, server, CLI or console
  packages, directly or through another module of the appliance;
- `domain/protocol/` is pure: it imports only itself and `domain/clock`;
- `storage/` imports nothing from the rest of the appliance;
- no cycle between packages (the app factory, `scim_appliance/__init__.py`, is the
  composition root that wires them together and is left out).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "scim_appliance"
WEB_LIBRARIES = ("flask", "werkzeug", "flask_sqlalchemy", "flask_wtf", "flask_login",
                 "flask_limiter")
EDGE_PACKAGES = ("scim_appliance.scim", "scim_appliance.server", "scim_appliance.cli",
                 "scim_appliance.console")


def read_package(root: Path = PACKAGE) -> dict[str, str]:
    """{dotted module name: source} for every module of the package."""
    sources = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        sources[".".join(parts)] = path.read_text(encoding="utf-8")
    return sources


def imports_of(module: str, source: str, is_package: bool) -> set[str]:
    """Every module name `module` imports, relative imports resolved."""
    found = set()
    here = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            # `from pkg import module` imports pkg.module too
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def import_graph(sources: dict[str, str]) -> dict[str, set[str]]:
    """Module -> the appliance's modules and the outside libraries it imports."""
    packages = {name for name in sources if f"{name}.__init__" not in sources
                and any(other.startswith(name + ".") for other in sources)}
    graph = {}
    for module, source in sources.items():
        raw = imports_of(module, source, module in packages)
        graph[module] = {name for name in raw
                         if name in sources or not name.startswith("scim_appliance")}
    return graph


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for target in graph.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def domain_violations(graph: dict[str, set[str]]) -> list[str]:
    problems = []
    for module in sorted(graph):
        if not _within(module, "scim_appliance.domain"):
            continue
        for target in sorted(_reachable(graph, module)):
            outside = target.split(".")[0] in WEB_LIBRARIES
            edge = any(_within(target, p) for p in EDGE_PACKAGES)
            if outside or edge or target == "scim_appliance.storage.extensions":
                problems.append(f"{module} reaches {target}")
    return problems


def protocol_violations(graph: dict[str, set[str]]) -> list[str]:
    allowed = ("scim_appliance.domain.protocol", "scim_appliance.domain.clock")
    return [f"{module} imports {target}"
            for module in sorted(graph) if _within(module, "scim_appliance.domain.protocol")
            for target in sorted(graph[module])
            if target.startswith("scim_appliance") and not any(_within(target, a)
                                                               for a in allowed)]


def storage_violations(graph: dict[str, set[str]]) -> list[str]:
    return [f"{module} imports {target}"
            for module in sorted(graph) if _within(module, "scim_appliance.storage")
            for target in sorted(graph[module])
            if target.startswith("scim_appliance")
            and not _within(target, "scim_appliance.storage")]


def package_of(module: str) -> str | None:
    """The layering unit: a domain sub-package (or module), else a top-level package."""
    parts = module.split(".")
    if module == "scim_appliance" or parts[0] != "scim_appliance":
        return None
    if parts[1] == "domain" and len(parts) > 2:
        return ".".join(parts[:3])
    return ".".join(parts[:2])


def package_cycles(graph: dict[str, set[str]]) -> list[str]:
    edges: dict[str, set[str]] = {}
    for module, targets in graph.items():
        source = package_of(module)
        if source is None:
            continue
        for target in targets:
            dest = package_of(target)
            if dest is not None and dest != source:
                edges.setdefault(source, set()).add(dest)
    cycles = []
    for start in sorted(edges):
        if start in _reachable(edges, start):
            back = sorted(p for p in edges[start] if start in _reachable(edges, p) | {p})
            cycles.append(f"{start} <-> {', '.join(back)}")
    return cycles


GRAPH = import_graph(read_package())


def test_the_walk_sees_the_whole_package():
    filters = GRAPH["scim_appliance.domain.protocol.filters"]
    assert "scim_appliance.domain.protocol.json_input" in filters
    assert "flask" in GRAPH["scim_appliance.scim.http"]
    # lazy imports inside functions count
    assert "scim_appliance.server.workers" in GRAPH["scim_appliance.cli.serve"]


def test_domain_reaches_no_flask_and_no_http_package():
    assert domain_violations(GRAPH) == []


def test_protocol_is_pure():
    assert protocol_violations(GRAPH) == []


def test_storage_imports_nothing_above_it():
    assert storage_violations(GRAPH) == []


def test_no_cycle_between_packages():
    assert package_cycles(GRAPH) == []


def test_cli_command_modules_share_only_common():
    """No command module imports another's privates (they share cli/common.py)."""
    commands = [m for m in GRAPH if m.startswith("scim_appliance.cli.")
                and m != "scim_appliance.cli.common"]
    problems = [f"{m} imports {t}" for m in commands for t in GRAPH[m]
                if _within(t, "scim_appliance.cli") and t != "scim_appliance.cli.common"]
    assert problems == []


def test_the_checks_catch_what_they_forbid():
    """Each rule fails on a package that breaks it, so none of them is vacuous."""
    bad = {
        "scim_appliance": "",
        "scim_appliance.domain": "",
        "scim_appliance.domain.log": "",
        "scim_appliance.domain.log.store": "from ...storage import helpers\n",
        "scim_appliance.domain.protocol": "",
        "scim_appliance.domain.protocol.patch": "from ..log import store\n",
        "scim_appliance.storage": "",
        "scim_appliance.storage.helpers": "def f():\n    from ..domain.log import store\n",
        "scim_appliance.storage.extensions": "import flask_sqlalchemy\n",
        "scim_appliance.domain.resources": "",
        "scim_appliance.domain.resources.users": "from ...storage.extensions import db\n",
    }
    graph = import_graph(bad)
    assert "scim_appliance.domain.resources.users reaches scim_appliance.storage.extensions" \
        in domain_violations(graph)
    assert "scim_appliance.domain.protocol.patch imports scim_appliance.domain.log.store" \
        in protocol_violations(graph)
    assert storage_violations(graph) == [
        "scim_appliance.storage.helpers imports scim_appliance.domain.log",
        "scim_appliance.storage.helpers imports scim_appliance.domain.log.store"]
    assert any(c.startswith("scim_appliance.domain.log <->") for c in package_cycles(graph))
