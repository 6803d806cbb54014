"""The package's shape: one-way dependencies between its subpackages and no import cycle between modules.

Reads every `import` statement of `keras_bert/` (top-level and inside functions) with `ast`, so a lazy import
that would hide a cycle at run time is caught too.
"""
import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "keras_bert"

# Lower levels never import higher ones. Packages on one level do not import each other.
LEVELS = [
    {"files", "upstream_workarounds"},
    {"config"},
    {"layers", "tokenization"},
    {"checkpoints"},
    {"models"},
    {"data"},
    {"training"},
    {"export"},
    {"cli"},
]
LEVEL = {unit: rank for rank, units in enumerate(LEVELS) for unit in units}


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: pathlib.Path, known: set[str]) -> set[str]:
    """keras_bert modules that `path` imports (`from keras_bert.a import b` counts a.b when b is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in known else node.module
                     for alias in node.names]
        else:
            continue
        found |= {name for name in names if name.startswith("keras_bert.")}
    return found


def graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    known = {module_name(p) for p in paths}
    return {module_name(p): imported_modules(p, known) for p in paths}


def unit(module: str) -> str:
    """The subpackage (or top-level module) a module belongs to: keras_bert.data.squad.features → data."""
    return module.split(".")[1]


def test_every_subpackage_has_a_level():
    units = {unit(m) for m in graph() if m != "keras_bert"}
    assert units <= set(LEVEL), f"add {sorted(units - set(LEVEL))} to LEVELS"


def test_lower_levels_never_import_higher_ones():
    upward = [f"{module} imports {target}" for module, targets in graph().items() if module != "keras_bert"
              for target in targets
              if unit(target) != unit(module) and LEVEL[unit(target)] >= LEVEL[unit(module)]]
    assert not upward, "\n".join(upward)


def test_no_import_cycle():
    edges = graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(module: str, stack: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges.get(module, ())):
            if state.get(target) == 1:
                cycles.append(" → ".join(stack[stack.index(target):] + [target]))
            elif target not in state:
                visit(target, stack + [target])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(cycles)


@pytest.mark.parametrize("bad_edge", [("keras_bert.layers.heads", "keras_bert.models.encoder"),
                                      ("keras_bert.models.encoder", "keras_bert.models.classifier")])
def test_the_checks_catch_an_upward_import_and_a_cycle(monkeypatch, bad_edge):
    """The checks above can fail: an added upward import (or back edge) is reported."""
    source, target = bad_edge
    original = graph()
    edges = {m: set(t) for m, t in original.items()}
    edges[source].add(target)
    monkeypatch.setitem(globals(), "graph", lambda: edges)
    if unit(source) != unit(target):
        with pytest.raises(AssertionError, match="imports keras_bert.models.encoder"):
            test_lower_levels_never_import_higher_ones()
    else:
        with pytest.raises(AssertionError, match="→"):
            test_no_import_cycle()
