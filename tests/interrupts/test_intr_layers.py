"""rpio_interrupts' modules import one way: no module imports, at module level (TYPE_CHECKING
blocks included), a module that imports it back, directly or around a circle."""

from __future__ import annotations

import ast
import pathlib

import rpio_interrupts

PACKAGE = pathlib.Path(rpio_interrupts.__file__).parent


def module_level_imports(path: pathlib.Path) -> set[str]:
    """Sibling modules imported by statements outside functions and classes."""
    found: set[str] = set()

    def visit(nodes):
        for node in nodes:
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    found.add(node.module.split(".")[0])
                else:
                    found.update(alias.name for alias in node.names)
            elif isinstance(node, (ast.If, ast.Try)):
                visit(node.body)
                visit(getattr(node, "orelse", []))
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)

    visit(ast.parse(path.read_text()).body)
    return found


def test_no_import_cycles_between_the_modules():
    modules = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    graph = {m: module_level_imports(PACKAGE / f"{m}.py") & modules for m in modules}
    assert "loop" in graph["aio"] and "tcp" in graph["loop"]  # the layers this test guards

    def cycle_from(start):
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return path + [start]
                if nxt not in path:
                    stack.append((nxt, path + [nxt]))
        return None

    cycles = [c for m in sorted(modules) if (c := cycle_from(m))]
    assert not cycles, f"import cycles: {cycles}"
