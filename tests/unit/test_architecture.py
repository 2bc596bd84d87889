"""The shape ARCHITECTURE.md asks for, checked on the code itself: no import cycles, a domain that imports no
infrastructure, use cases that take named collaborators rather than a container, and modules of a readable size."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "chalicelib"
INFRASTRUCTURE = ("chalice", "pynamodb", "boto3", "botocore", "telegram", "pyhanko")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """What a module imports when it is loaded (imports under TYPE_CHECKING or inside functions excluded)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else module_name(path)
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for child in [node] if not isinstance(node, ast.If) else node.body:
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[:len(anchor) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in child.names)
    return found


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def test_the_packages_modules_import_each_other_without_a_cycle() -> None:
    graph = {name: {i for i in imports(path) if i in MODULES and i != name} for name, path in MODULES.items()}
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        assert name not in visiting, " → ".join([*visiting[visiting.index(name):], name])
        visiting.append(name)
        for other in graph[name]:
            visit(other)
        visiting.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)


def test_the_domain_imports_no_infrastructure() -> None:
    for name, path in MODULES.items():
        if name.startswith("chalicelib.domain"):
            bad = {i for i in imports(path) if i.split(".")[0] in INFRASTRUCTURE}
            assert not bad, (name, bad)


def test_control_use_cases_name_their_collaborators_and_take_no_container() -> None:
    for path in (PACKAGE / "services" / "control").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                for arg in [*node.args.args, *node.args.kwonlyargs]:
                    annotation = ast.unparse(arg.annotation) if arg.annotation else ""
                    assert arg.arg != "c" and "Container" not in annotation, (path.name, node.name, arg.arg)
                    if arg.arg not in ("payload", "value", "data", "details"):
                        assert annotation != "Any", (path.name, node.name, arg.arg)


def test_virtual_control_modules_stay_readable() -> None:
    folders = [PACKAGE / "domain" / "control", PACKAGE / "services" / "control",
               PACKAGE / "adapters" / "dynamo_control", PACKAGE / "handlers"]
    for folder in folders:
        for path in folder.glob("*.py"):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            assert lines <= 400, (path.relative_to(ROOT), lines)


def test_the_stacks_channel_routes_are_the_openapi_documents() -> None:
    """infrastructure/cdk/channel_plans.py requires an API key on the routes the OpenAPI document calls channel
    routes; it keeps its own copy of the rule (the CDK tools have no pydantic): the two must agree."""
    import re
    from pathlib import Path

    from chalicelib.api.openapi import CHANNEL

    source = (Path(__file__).resolve().parents[2] / "infrastructure" / "cdk" / "channel_plans.py").read_text()
    (pattern,) = re.findall(r'CHANNEL = re\.compile\(r"([^"]+)"\)', source)
    assert pattern == CHANNEL.pattern
