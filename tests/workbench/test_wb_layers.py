"""Imports go one way (issue 13): RPIO.workbench.layout < RPIO.workbench.vcd < RPIO.sim <
RPIO.workbench.board < the page, the pinout, the pytest plugin. Every import counts, those inside
functions too: a cycle through any of these modules fails."""

import ast
import os

import RPIO

PACKAGE_DIR = os.path.dirname(os.path.abspath(RPIO.__file__))


def modules():
    found = {}
    for folder, _dirs, files in os.walk(PACKAGE_DIR):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            parts = ["RPIO"] + os.path.relpath(path, PACKAGE_DIR)[:-3].split(os.sep)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def import_graph():
    known = modules()
    graph = {name: set() for name in known}
    for name, path in known.items():
        is_package = path.endswith("__init__.py")
        tree = ast.parse(open(path, encoding="utf-8").read(), path)
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[:len(base) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                targets = [f"{module}.{alias.name}" if f"{module}.{alias.name}" in known
                           else module for alias in node.names]
            for target in targets:
                if target in known and target != name and not name.startswith(target + "."):
                    graph[name].add(target)  # a parent package is imported first anyway
    return graph


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, out, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in graph:
        if node not in index:
            visit(node)
    return out


def test_the_workbench_and_rpio_sim_import_only_downward():
    graph = import_graph()
    watched = {name for name in graph if name == "RPIO.sim" or name.startswith("RPIO.workbench")}
    assert "RPIO.workbench.vcd" in watched and "RPIO.workbench.layout" in watched
    bad = [component for component in cycles(graph) if watched & set(component)]
    assert bad == [], f"import cycles: {bad}"
    # the layers, as docs/workbench.md draws them
    assert graph["RPIO.workbench.layout"] & watched == set()
    assert graph["RPIO.workbench.vcd"] & watched == {"RPIO.workbench.layout"}
    assert "RPIO.workbench.vcd" in graph["RPIO.sim"]
    assert "RPIO.sim" in graph["RPIO.workbench.board"]


def test_the_checker_sees_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
