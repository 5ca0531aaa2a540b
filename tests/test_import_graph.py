"""Imports go one way: the assignment loader and the check kinds share records (grader.specs) and
never import each other at module level (the registry is looked up lazily, inside functions)."""
import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "grader"


def _module_level_imports(path: Path) -> set[str]:
    """grader modules imported at module level (not inside a function) by one file."""
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("grader"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("grader"))
    return found


def _graph() -> dict[str, set[str]]:
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        graph[name] = _module_level_imports(path)
    return {name: {m for m in imports if m in graph} for name, imports in graph.items()}


def _reaches(graph: dict[str, set[str]], start: str, target_prefix: str) -> list[str] | None:
    """A module-level import path from ``start`` to a module under ``target_prefix``, or None."""
    seen, stack = {start}, [[start]]
    while stack:
        path = stack.pop()
        for nxt in sorted(graph.get(path[-1], ())):
            if nxt == target_prefix or nxt.startswith(target_prefix + "."):
                return path + [nxt]
            if nxt not in seen:
                seen.add(nxt)
                stack.append(path + [nxt])
    return None


def test_no_check_kind_imports_the_assignment_loader():
    graph = _graph()
    for module in (m for m in graph if m == "grader.checks" or m.startswith("grader.checks.")):
        assert _reaches(graph, module, "grader.assignment") is None, _reaches(graph, module, "grader.assignment")


def test_the_assignment_loader_does_not_import_the_checks_at_module_level():
    graph = _graph()
    assert _reaches(graph, "grader.assignment", "grader.checks") is None
    done = subprocess.run([sys.executable, "-c", "import sys, grader.assignment, grader.course; "
                           "print(any(m.startswith('grader.checks') for m in sys.modules))"],
                          capture_output=True, text=True, cwd=PACKAGE.parent, timeout=120)
    assert done.stdout.strip() == "False", done.stderr
