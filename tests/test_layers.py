"""The package's layers, read from its imports: no circles, no reaching into privates.

Every ``import`` in ``poller/`` is read with ``ast``, those inside functions too (a lazy
import is still a dependency). A module of one package may import another package
only through its public face (``poller.protocol``, never ``poller.protocol._decoder``),
and the packages form a graph without cycles, drawn downwards: the protocol core at
the bottom, the command line at the top.
"""

from __future__ import annotations

import ast
import graphlib
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "poller"

# Edges that would turn a lower layer into a client of a higher one.
FORBIDDEN = {
    ("protocol", "transport"),
    ("protocol", "engine"),
    ("protocol", "readings"),
    ("transport", "simulator"),
    ("transport", "engine"),
    ("spool", "sinks"),
    ("spool", "delivery"),
    ("sinks", "spool"),
    ("sinks", "engine"),
    ("sinks", "transport"),
    ("engine", "daemon"),
    ("engine", "config"),
    ("engine", "sinks"),
    ("quirks", "engine"),
    ("quirks", "config"),
    ("quirks", "simulator"),
    ("quirks", "transport"),
    ("protocol", "quirks"),
    ("engine", "quirks"),
}


def _unit(path: Path) -> str:
    """The layer a module belongs to: its subpackage, or its own name at the top."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if len(parts) == 1:
        return "(api)" if parts[0] == "__init__" else parts[0]
    return parts[0]


def _imports(path: Path) -> list[tuple[str, int]]:
    """Absolute ``poller...`` module names imported by ``path``, with their lines."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, node.lineno))
            # ``from poller.protocol import _decoder`` reaches in just the same.
            found += [
                (f"{node.module}.{alias.name}", node.lineno)
                for alias in node.names
                if alias.name.startswith("_") and not alias.name.startswith("__")
            ]
    return [(name, line) for name, line in found if name.split(".")[0] == "poller"]


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in _modules():
        unit = _unit(path)
        graph.setdefault(unit, set())
        for name, _ in _imports(path):
            parts = name.split(".")
            target = parts[1] if len(parts) > 1 else "(api)"
            if target != unit:
                graph[unit].add(target)
    return graph


def test_no_module_imports_another_packages_private_modules() -> None:
    offences = []
    for path in _modules():
        unit = _unit(path)
        for name, line in _imports(path):
            parts = name.split(".")
            if len(parts) < 3 or parts[1] == unit:
                continue
            if any(part.startswith("_") and not part.startswith("__") for part in parts[2:]):
                offences.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {name}")
    assert offences == [], "\n".join(offences)


def test_the_packages_form_no_cycle() -> None:
    graph = _graph()
    # The public face (``poller/__init__``) and the entry points sit above everything.
    tops = {"(api)", "__main__", "cli"}
    lower = {unit: deps - tops for unit, deps in graph.items() if unit not in tops}
    try:
        order = list(graphlib.TopologicalSorter(lower).static_order())
    except graphlib.CycleError as exc:
        pytest.fail(f"import cycle between packages: {' -> '.join(exc.args[1])}")
    assert "protocol" in order


@pytest.mark.parametrize(("lower", "upper"), sorted(FORBIDDEN))
def test_a_lower_layer_does_not_import_a_higher_one(lower: str, upper: str) -> None:
    deps = _graph().get(lower, set())
    assert upper not in deps, f"poller.{lower} imports poller.{upper}"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_graph() -> dict[str, set[str]]:
    """Module -> the modules it imports (relative imports resolved, lazy ones too).

    A module's import of its own package's ``__init__`` is left out: that is how a
    private module reaches a sibling through the public face, and the ``__init__``
    importing it back is the re-export, not a circle of responsibilities.
    """
    paths = {_module_name(path): path for path in _modules()}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                candidates = [module, *(f"{module}.{alias.name}" for alias in node.names)]
            elif isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            else:
                continue
            deps |= {c for c in candidates if c in paths and c != name}
        graph[name] = {d for d in deps if not name.startswith(d + ".")}
    return graph


def test_no_two_modules_import_each_other_round_a_circle() -> None:
    # TYPE_CHECKING imports count: a module that names another's type in its
    # signatures depends on it as much as one that calls it.
    try:
        graphlib.TopologicalSorter(_module_graph()).prepare()
    except graphlib.CycleError as exc:
        pytest.fail(f"import circle: {' -> '.join(exc.args[1])}")


def test_the_protocol_core_imports_nothing_else_of_the_package() -> None:
    assert _graph()["protocol"] <= {"util"}


def test_the_graph_is_read_from_real_imports() -> None:
    # A control: the reader must see the engine's use of the protocol core, or every
    # check above would pass on an empty graph.
    graph = _graph()
    assert "protocol" in graph["engine"]
    assert "readings" in graph["sinks"] or "protocol" in graph["sinks"]
