"""Every refusal message the domain can raise under chalicelib/, found by reading the source with ``ast``: the
English text the console's catalogue translates (msgctxt "domain", msgid = the English message).

A literal message is its own key; an f-string becomes a template with ``{name}`` placeholders, each named after
what it prints (``{limit}``, ``{max_rows}`` for ``MAX_ROWS``, ``{status}`` for ``request.status.value``,
``{allowed}`` for ``', '.join(allowed)``...). The console matches a message against these templates at render time.

``python -m infrastructure.local.console_messages`` lists the messages missing from either catalogue."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "chalicelib"

# Messages the scan cannot see (built by concatenation, or stored on a job without an exception).
EXTRA = ("Expected csv.", "Expected csv or xlsx.", "The file has no rows.")


def placeholder(node: ast.expr) -> str:
    """The name of the value an f-string prints."""
    if isinstance(node, ast.Name):
        return node.id.lower()
    if isinstance(node, ast.Attribute):
        return placeholder(node.value) if node.attr == "value" else node.attr.lower()
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Attribute) and node.func.attr != "join":
            return placeholder(node.func.value)
        return placeholder(node.args[0]) if node.args else "value"
    if isinstance(node, ast.BinOp):
        return placeholder(node.left)
    if isinstance(node, ast.Subscript):
        index = node.slice
        if isinstance(index, ast.Constant) and isinstance(index.value, str):
            return index.value.lower()
        return placeholder(node.value)
    return "value"


class Template(str):
    """A message built by an f-string: ``{name}`` placeholders, literal braces doubled."""


def template(node: ast.JoinedStr) -> Template:
    parts: list[str] = []
    seen: dict[str, ast.expr] = {}
    for value in node.values:
        if isinstance(value, ast.Constant):
            parts.append(str(value.value).replace("{", "{{").replace("}", "}}"))
        elif isinstance(value, ast.FormattedValue):
            name = placeholder(value.value)
            # The same name for two different values gets a number; the same value twice keeps its name.
            while name in seen and ast.dump(seen[name]) != ast.dump(value.value):
                name = f"{name}_2" if not name[-1].isdigit() else f"{name[:-1]}{int(name[-1]) + 1}"
            seen[name] = value.value
            parts.append("{" + name + "}")
    return Template("".join(parts))


def _error_classes(trees: list[ast.Module]) -> set[str]:
    names = {"DomainError"}
    grown = True
    while grown:
        grown = False
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in names and any(
                        (isinstance(b, ast.Name) and b.id in names)
                        or (isinstance(b, ast.Attribute) and b.attr in names) for b in node.bases):
                    names.add(node.name)
                    grown = True
    return names


def _called(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _message_arg(node: ast.Call) -> ast.expr | None:
    if node.args:
        return node.args[0]
    return next((k.value for k in node.keywords if k.arg == "message"), None)


def _wrappers(trees: list[ast.Module], errors: set[str]) -> set[str]:
    """Helpers that pass their first parameter on as a refusal's message (``_bad(message)``)."""
    found = set()
    for tree in trees:
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef) or not func.args.args:
                continue
            first = func.args.args[0].arg
            for node in ast.walk(func):
                if isinstance(node, ast.Call) and _called(node) in errors:
                    arg = _message_arg(node)
                    if isinstance(arg, ast.Name) and arg.id == first:
                        found.add(func.name)
    return found


def _text(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return template(node) if is_template(node) else "".join(
            str(v.value) for v in node.values if isinstance(v, ast.Constant))
    return None


def is_template(node: ast.JoinedStr) -> bool:
    return any(isinstance(value, ast.FormattedValue) for value in node.values)


def scan(source: Path = SOURCE) -> dict[str, list[str]]:
    """{English message or template: [where it is raised, as path:line]}. A template (from an f-string, with
    ``{name}`` placeholders and its literal braces doubled) is a :class:`Template`; a literal is kept as it is."""
    files = sorted(source.rglob("*.py"))
    trees = [ast.parse(path.read_text(encoding="utf-8"), filename=str(path)) for path in files]
    errors = _error_classes(trees)
    callers = (errors - {"FieldErrors"}) | _wrappers(trees, errors)
    found: dict[str, list[str]] = {}
    for path, tree in zip(files, trees, strict=True):
        for where, text in _messages(tree, errors, callers):
            found.setdefault(text, []).append(f"{path.relative_to(ROOT)}:{where}")
    for text in EXTRA:
        found.setdefault(text, []).append("EXTRA")
    return found


def _messages(tree: ast.Module, errors: set[str], callers: set[str]) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _called(node) in callers:
            text = _text(_message_arg(node))
            if text is not None:
                yield node.lineno, text
        # A refusal that writes its own message: super().__init__("...") in a DomainError subclass.
        if isinstance(node, ast.ClassDef) and node.name in errors:
            for call in ast.walk(node):
                if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                        and call.func.attr == "__init__" and isinstance(call.func.value, ast.Call)
                        and _called(call.func.value) == "super"):
                    text = _text(_message_arg(call))
                    if text is not None:
                        yield call.lineno, text


def main() -> int:
    from chalicelib.console import i18n

    found = scan()
    missing = 0
    for lang in i18n.LANGUAGES:
        known = i18n.domain_catalogue(lang)
        for text, where in sorted(found.items()):
            if text not in known:
                missing += 1
                print(f"{lang}: missing {text!r} ({where[0]})")
    print(f"{len(found)} messages, {sum(1 for t in found if isinstance(t, Template))} of them templates; "
          f"{missing} missing entries")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
