"""Where the grading parameters go, and which later student cells assign them again (static, via ``ast``).

The grader injects its parameters after the LAST cell tagged ``parameters`` (papermill uses the first,
so a second tagged cell would override the grading budget). A code cell after that point that assigns a
parameter name replaces the grading value from there on: the grader names it in the feedback notes.
Nothing here runs student code.

Two patterns that only resolve the grading value are not reported, because every template uses them:
an assignment under ``if device == "auto":`` (a placeholder test: ==, !=, is, in against a constant)
and a plain conversion of the value itself (``data_dir = Path(data_dir)``, ``epochs = int(epochs)``).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable

from grader.i18n import msg
from grader.notebook_tags import PAPERMILL_ERROR_TAG, PAPERMILL_PARAMETERS_TAG, PARAMETERS_TAG
from grader.records import Reason

# cells the prepared copy drops (grader.execution.prepare): a papermill run's injected values and markers
DROPPED_TAGS = frozenset({PAPERMILL_PARAMETERS_TAG, PAPERMILL_ERROR_TAG})
MAX_NOTED_CELLS = 5
# magics whose argument or body is Python run in the notebook's namespace
_PYTHON_MAGICS = frozenset({"time", "timeit", "capture", "prun"})
_NAMESPACE_CALLS = frozenset({"globals", "vars", "locals"})


@dataclass(frozen=True)
class Reassignment:
    cell: int                       # index among the notebook's cells
    names: tuple[str, ...]          # the parameter names it assigns
    execution_count: int | None     # as handed in: Jupyter shows "In [n]"
    code_position: int              # 1-based among the code cells, for a cell never run


def injection_point(cells: list[Any]) -> int:
    """Index the grading parameters cell is inserted at: after the last tagged cell, else on top."""
    tagged = [i for i, c in enumerate(cells) if _is_code(c) and PARAMETERS_TAG in _tags(c)]
    return tagged[-1] + 1 if tagged else 0


def later_reassignments(cells: list[Any], names: Iterable[str]) -> list[Reassignment]:
    """Code cells after the injection point that assign one of ``names`` (cells prepare drops skipped)."""
    wanted = frozenset(names)
    start = injection_point(cells)
    found, position = [], 0
    for index, cell in enumerate(cells):
        if not _is_code(cell):
            continue
        position += 1
        if index < start or DROPPED_TAGS & set(_tags(cell)):
            continue
        assigned = assigned_names(_text(cell.get("source")), wanted)
        if assigned:
            count = cell.get("execution_count")
            count = count if isinstance(count, int) and not isinstance(count, bool) else None
            found.append(Reassignment(index, tuple(assigned), count, position))
    return found


def reassignment_notes(cells: list[Any], names: Iterable[str]) -> list[Reason]:
    """One feedback note per later cell that assigns a grading parameter (the first few cells)."""
    notes = []
    for found in later_reassignments(cells, names)[:MAX_NOTED_CELLS]:
        shown = [f"`{n}`" for n in found.names]
        if found.execution_count is not None:
            notes.append(msg("params_reassigned_in", names=shown, count=found.execution_count))
        else:
            notes.append(msg("params_reassigned_cell", names=shown, position=found.code_position))
    return notes


def assigned_names(source: str, names: frozenset[str]) -> list[str]:
    """Which of ``names`` this cell's code assigns at the notebook's top level, sorted."""
    tree = _parse(source)
    if tree is None or not names:
        return []
    finder = _Finder(names)
    try:
        finder.visit(tree)
    except RecursionError:   # code nested deeper than the visitor can walk: what it found so far
        pass
    return sorted(finder.found)


def _parse(source: str) -> ast.Module | None:
    """The cell as Python: IPython's own transformer turns magics and ``!`` lines into calls first."""
    try:
        return ast.parse(_transformer().transform_cell(source))
    except Exception:   # a cell that does not parse fails when it runs: it assigns nothing
        return None


@lru_cache(maxsize=1)
def _transformer():
    # imported here: IPython is the kernel's dependency, and most callers never parse a cell
    # start-up: IPython's input transformer only when a notebook is read for reassignments
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager()


class _Finder(ast.NodeVisitor):
    """Collects parameter names bound in the module scope (or declared ``global`` in a function)."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names
        self.found: set[str] = set()
        self.scope_globals: set[str] | None = None   # None: module scope, else the function's globals
        self.exempt: frozenset[str] = frozenset()     # names whose assignment here only resolves them

    def _bind(self, name: str) -> None:
        if name in self.names and name not in self.exempt and (
                self.scope_globals is None or name in self.scope_globals):
            self.found.add(name)

    # -- binding forms -----------------------------------------------------------------------------
    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self._bind(node.id)

    # targets before values: a value nested too deep to walk must not hide the assignment
    def visit_Assign(self, node: ast.Assign) -> None:
        self._targets(node.targets, node.value)
        self.visit(node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:        # `epochs: int` alone binds nothing
            self._targets([node.target], node.value)
            self.visit(node.value)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.target)           # `epochs += 5` changes the value: never exempt
        self.visit(node.value)

    def visit_If(self, node: ast.If) -> None:
        self.visit(node.test)
        outer = self.exempt
        self.exempt = outer | _placeholder_tested(node.test)
        for child in node.body + node.orelse:
            self.visit(child)
        self.exempt = outer

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._bind(alias.asname or alias.name.split(".")[0])

    visit_ImportFrom = visit_Import

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self._bind(node.name)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        # globals()["epochs"] = 3
        if isinstance(node.ctx, (ast.Store, ast.Del)) and _is_namespace(node.value):
            key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                self._bind(key.value)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        self._namespace_update(node)
        self._magic(node)
        self.generic_visit(node)

    # -- scopes ------------------------------------------------------------------------------------
    def visit_FunctionDef(self, node) -> None:
        self._bind(node.name)
        for child in node.decorator_list + node.args.defaults + [d for d in node.args.kw_defaults if d]:
            self.visit(child)
        declared = {n for inner in ast.walk(node) if isinstance(inner, ast.Global) for n in inner.names}
        self._in_scope(node.body, declared)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._in_scope([node.body], set())

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._bind(node.name)
        for child in node.decorator_list + node.bases + node.keywords:
            self.visit(child)
        declared = {n for inner in ast.walk(node) if isinstance(inner, ast.Global) for n in inner.names}
        self._in_scope(node.body, declared)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        # the loop variable is the comprehension's own; a walrus inside still binds outside
        self.visit(node.iter)
        for condition in node.ifs:
            self.visit(condition)

    def _in_scope(self, body: list[ast.AST], declared: set[str]) -> None:
        outer_globals, outer_exempt = self.scope_globals, self.exempt
        self.scope_globals, self.exempt = declared, frozenset()
        for child in body:
            self.visit(child)
        self.scope_globals, self.exempt = outer_globals, outer_exempt

    # -- helpers -----------------------------------------------------------------------------------
    def _targets(self, targets: list[ast.expr], value: ast.expr) -> None:
        outer = self.exempt
        self.exempt = outer | _resolving(value)
        for target in targets:
            self.visit(target)
        self.exempt = outer

    def _namespace_update(self, node: ast.Call) -> None:
        """globals().update(epochs=3), globals().update({"epochs": 3}), globals().__setitem__("epochs", 3)."""
        func = node.func
        if not (isinstance(func, ast.Attribute) and _is_namespace(func.value)):
            return
        if func.attr in ("update", "setdefault", "__setitem__"):
            for keyword in node.keywords:
                if keyword.arg:
                    self._bind(keyword.arg)
            for arg in node.args[:1]:
                keys = arg.keys if isinstance(arg, ast.Dict) else [arg]
                for key in keys:
                    if isinstance(key, ast.Constant) and isinstance(key.value, str):
                        self._bind(key.value)

    def _magic(self, node: ast.Call) -> None:
        """%time / %%capture bodies are Python run in the notebook: look inside them too."""
        func = node.func
        if not (isinstance(func, ast.Attribute) and func.attr in ("run_line_magic", "run_cell_magic")):
            return
        texts = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        if not texts or texts[0] not in _PYTHON_MAGICS:
            return
        body = texts[-1] if func.attr == "run_cell_magic" else (texts[1] if len(texts) > 1 else "")
        inner = _parse(body)
        if inner is not None:
            self.visit(inner)


def _placeholder_tested(test: ast.expr) -> frozenset[str]:
    """Names a test compares with a constant by ==, !=, is, in (``device == "auto"``, ``x is None``)."""
    found = set()
    for node in ast.walk(test):
        if not isinstance(node, ast.Compare) or len(node.ops) != 1:
            continue
        if not isinstance(node.ops[0], (ast.Eq, ast.NotEq, ast.Is, ast.IsNot, ast.In, ast.NotIn)):
            continue
        left, right = node.left, node.comparators[0]
        for one, other in ((left, right), (right, left)):
            if isinstance(one, ast.Name) and _constant(other):
                found.add(one.id)
    return frozenset(found)


def _resolving(value: ast.expr) -> frozenset[str]:
    """Names this value only resolves: ``Path(data_dir)`` (one bare argument) or ``... if device == "auto" else``."""
    if isinstance(value, ast.Call) and len(value.args) == 1 and not value.keywords \
            and isinstance(value.args[0], ast.Name):
        return frozenset({value.args[0].id})
    if isinstance(value, ast.IfExp):
        return _placeholder_tested(value.test)
    return frozenset()


def _constant(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return True
    return isinstance(node, (ast.Tuple, ast.List, ast.Set)) and all(isinstance(e, ast.Constant) for e in node.elts)


def _is_namespace(node: ast.expr) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _NAMESPACE_CALLS
            and not node.args)


def _is_code(cell: Any) -> bool:
    return isinstance(cell, dict) and cell.get("cell_type") == "code"


def _tags(cell: Any) -> list[str]:
    metadata = cell.get("metadata") if isinstance(cell, dict) else None
    tags = metadata.get("tags") if isinstance(metadata, dict) else None
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def _text(source: Any) -> str:
    if isinstance(source, list):
        return "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""
