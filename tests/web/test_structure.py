"""The shape of the product's code: modules that import each other in one direction, the
application keys in one module, the router and the OpenAPI document from one route
table, and production commands that do not reach into the load tests."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from aiohttp import web

from web.app import create_app
from web.config import Settings

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("auction", "engine", "web")
#: The one import of the load tests by a product module, and why: docs/design.md
#: ("Modules and their imports").
LOADTESTS_ALLOWED = {("web.cli", "loadtests.bench")}


def _modules() -> dict[str, Path]:
    """Every module of the product by name (a package by its own name)."""
    out = {}
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _type_checking(node: ast.AST) -> bool:
    return (isinstance(node, ast.If) and isinstance(node.test, ast.Name)
            and node.test.id == "TYPE_CHECKING")


def _imports(module: str, path: Path) -> set[str]:
    """Every module ``module`` imports, at its top or inside a function (imports only
    made for the type checker aside)."""
    found: set[str] = set()
    todo: list[ast.AST] = [ast.parse(path.read_text(encoding="utf-8"))]
    while todo:
        node = todo.pop()
        if _type_checking(node):
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")[:-node.level]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
        todo.extend(ast.iter_child_nodes(node))
    return found


def _graph() -> dict[str, set[str]]:
    """Module -> the modules of the product it imports."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        edges = set()
        for imported in _imports(name, path):
            while imported and imported not in modules:  # a name inside a module
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                edges.add(imported)
        graph[name] = edges
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph``, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_no_two_modules_of_the_product_import_each_other_even_inside_a_function() -> None:
    graph = _graph()
    assert {"web.api", "web.records"} <= set(graph)
    assert _cycle(graph) is None, f"an import cycle: {' -> '.join(_cycle(graph) or [])}"


def test_application_keys_are_made_only_in_web_keys() -> None:
    makers = []
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name)
                    and (node.func.attr if isinstance(node.func, ast.Attribute)
                         else node.func.id) == "AppKey"):
                makers.append(f"{name}:{node.lineno}")
    assert makers and all(m.startswith("web.keys:") for m in makers), makers


def test_no_product_module_imports_the_load_tests_but_the_bench_command() -> None:
    reached = {(name, m) for name, path in _modules().items()
               for m in _imports(name, path) if m.split(".")[0] == "loadtests"}
    assert reached and reached <= LOADTESTS_ALLOWED | {
        (name, f"{m}.main") for name, m in LOADTESTS_ALLOWED}, reached
    assert "auction bench" in (ROOT / "docs" / "design.md").read_text(encoding="utf-8")


def test_the_demo_and_the_server_run_without_the_load_test_package() -> None:
    script = ("import sys, web.cli, web.demo, web.demo_bidders\n"
              "from web.cli import _parser\n"
              "_parser()\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] == 'loadtests'))")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, check=True).stdout
    assert out.strip() == "[]"


class _NoEngine:
    """Enough of an engine to build the application's router (never started)."""


def test_the_router_and_the_openapi_document_are_made_from_the_one_route_table() -> None:
    from web.routes import API, JSON_ROUTES, OPENAPI, ROUTES, STATIC

    app = create_app(Settings(), engine=_NoEngine())  # type: ignore[arg-type]
    routed = {(r.method, r.resource.canonical) for r in app.router.routes()
              if r.resource is not None and r.method != "HEAD"}
    assert routed - {("GET", STATIC.rstrip("/"))} == {(r.method, r.path) for r in ROUTES}
    described = {(method.upper(), path) for path, ops in OPENAPI["paths"].items()
                 for method in ops}
    assert described == set(JSON_ROUTES)
    # the API is a sub-application mounted at /api, holding exactly the /api routes
    subapps = [r for r in app.router.resources() if isinstance(r, web.PrefixedSubAppResource)]
    assert [r.canonical for r in subapps] == [API]
    inside = {(r.method, r.resource.canonical) for r in subapps[0]._app.router.routes()
              if r.resource is not None and r.method != "HEAD"}
    assert inside == {(r.method, r.path) for r in ROUTES if r.path.startswith(API + "/")}
    assert not any(hasattr(__import__("web.schemas").schemas, name)
                   for name in ("ROUTES", "OTHER_ROUTES")), "a second route table"


def test_the_rules_core_imports_nothing_but_the_standard_library_and_itself() -> None:
    import ast
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "auction"
    outside = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom)
                     and node.level == 0 else [])
            for name in names:
                top = name.split(".")[0]
                if top != "auction" and top not in sys.stdlib_module_names:
                    outside.add(f"{path.relative_to(root.parent)}: {name}")
    assert sorted(outside) == []
