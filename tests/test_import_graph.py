"""Imports run one way: the layers are written down once, in the README's architecture section, and every import
of every grader module (inside functions too) goes to its own layer or a lower one. An import inside a function
says why it is there (start-up). The assignment loader and the check kinds share records (grader.loaded_assignment) and the
loader looks the kinds' registry up only while loading."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "grader"
_LAYER_LINE = re.compile(r"^(\d+) ([^:]+):\s+(.+)$")


def readme_layers() -> list[tuple[int, str, list[str]]]:
    """(number, name, module patterns) of each layer, lowest first, from the README's block."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("**Imports run one way.**", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    layers = [_LAYER_LINE.match(line) for line in block.strip().splitlines()]
    assert all(layers), block
    return [(int(m[1]), m[2].strip(), m[3].split()) for m in layers]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str, layers) -> int | None:
    """The layer whose pattern names ``module`` most precisely: the module itself, else the longest package."""
    short = module.removeprefix("grader.") if module != "grader" else "grader"
    best, rank = None, -1
    for number, _, patterns in layers:
        for pattern in patterns:
            if pattern == short:
                found = 10_000
            elif pattern.endswith(".*") and short.startswith(pattern[:-1]):
                found = len(pattern)
            else:
                continue
            if found > rank:
                best, rank = number, found
    return best


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """Nodes under ``if TYPE_CHECKING:``: annotations only, never run."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", "")) == "TYPE_CHECKING":
            skipped |= {id(sub) for child in node.body for sub in ast.walk(child)}
    return skipped


def imports_of(source: str, module: str, is_package: bool, known: set[str]) -> list[tuple[str, int]]:
    """(grader module imported, line) for every import statement of one module, at any depth."""
    tree = ast.parse(source)
    skipped = _type_checking_nodes(tree)
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        names: list[str] = []
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".") if is_package else module.split(".")[:-1]
                parts = parts[:len(parts) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name.split(".")[0] == "grader" and name != module:
                found.append((name, node.lineno))
    return found


def _modules() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE.rglob("*.py")}


def upward_imports(sources: dict[str, tuple[str, bool]], layers) -> list[str]:
    """Every import that runs back up, as "<module>:<line> (layer a) imports <module> (layer b)"."""
    known = set(sources)
    found = []
    for module, (source, is_package) in sorted(sources.items()):
        mine = layer_of(module, layers)
        for target, line in imports_of(source, module, is_package, known):
            theirs = layer_of(target, layers)
            if theirs is not None and mine is not None and theirs > mine:
                found.append(f"{module}:{line} (layer {mine}) imports {target} (layer {theirs})")
    return found


def _sources() -> dict[str, tuple[str, bool]]:
    return {name: (path.read_text(encoding="utf-8"), path.name == "__init__.py") for name, path in _modules().items()}


def test_every_grader_module_is_in_one_layer_of_the_readme():
    layers = readme_layers()
    assert [number for number, _, _ in layers] == list(range(1, len(layers) + 1))
    unplaced = sorted(name for name in _modules() if layer_of(name, layers) is None)
    assert not unplaced, f"modules in no layer of the README's architecture block: {unplaced}"


def test_no_import_runs_back_up_the_layers_not_even_inside_a_function():
    found = upward_imports(_sources(), readme_layers())
    assert not found, "imports that run back up:\n" + "\n".join(found)


def test_a_planted_upward_import_is_found():
    sources = _sources()
    source, is_package = sources["grader.records"]
    planted = source + "\n\ndef _planted():\n    from grader.pipeline import grade_course\n    return grade_course\n"
    found = upward_imports({**sources, "grader.records": (planted, is_package)}, readme_layers())
    assert len(found) == 1 and found[0].startswith("grader.records:") and "imports grader.pipeline" in found[0]


def test_an_import_inside_a_function_says_it_saves_start_up_time():
    unexplained = []
    for name, path in sorted(_modules().items()):
        lines = path.read_text(encoding="utf-8").splitlines()
        tree = ast.parse("\n".join(lines))
        skipped = _type_checking_nodes(tree)
        top = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in top and id(node) not in skipped \
                    and not _at_module_level(tree, node) and not _says_start_up(lines, node.lineno):
                unexplained.append(f"{name}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    assert not unexplained, "imports inside functions that do not say why (start-up):\n" + "\n".join(unexplained)


def _at_module_level(tree: ast.Module, node: ast.AST) -> bool:
    """An import under a module-level ``if`` or ``try`` (an optional dependency) runs at import time."""
    return any(node in ast.walk(top) for top in tree.body if isinstance(top, (ast.If, ast.Try)))


def _says_start_up(lines: list[str], lineno: int) -> bool:
    """A comment holding "start-up" on the import's line or in the comment and import lines just above it."""
    index = lineno - 1
    if "start-up" in lines[index]:
        return True
    index -= 1
    while index >= 0 and lines[index].strip().startswith(("#", "import ", "from ")):
        if "start-up" in lines[index]:
            return True
        index -= 1
    return False


def test_the_assignment_loader_does_not_import_the_checks_at_module_level():
    done = subprocess.run([sys.executable, "-c", "import sys, grader.assignment, grader.course; "
                           "print(any(m.startswith('grader.checks') for m in sys.modules))"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.stdout.strip() == "False", done.stderr
