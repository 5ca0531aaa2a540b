"""Every message code the grader or a practical's reference can emit is in the catalogue, in both
languages, and every catalogue code is emitted by someone (or kept for stored results, said so).

Codes are found in the source by reading it (ast), not by running it: a literal `msg("code")`, the code
of a `Reason(...)`, a `code=` keyword (an error's code, unless it brings its own `reason=`) or a
`code = ...` assignment, a name or a table lookup that holds such literals (`msg(later)`,
`msg(_CASE_CODES[what])`), either branch of `a if c else b`, and codes built with f-strings, expanded
over the finite sets below (a new f-string code fails until listed here).
"""
from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

from grader.assignment import load_assignment
from grader.i18n import LANGUAGES, MESSAGES_DIR, catalogue, catalogue_files, msg, render, renamed

ROOT = Path(__file__).resolve().parents[1]
# a practical's own catalogue joins when it is loaded: the shipped ones are, for what their references emit
SHIPPED = [load_assignment(folder) for folder in sorted((ROOT / "assignments").glob("*/")) if
           (folder / "assignment.toml").is_file()]
SOURCES = sorted([*(ROOT / "grader").rglob("*.py"), *(ROOT / "reference").rglob("*.py")])
CODE_CALLS = {"msg", "Reason"}
STORED_ONLY = MESSAGES_DIR / "stored.toml"   # codes of results stored by earlier versions; never emitted

# f-string codes, each with the finite set its hole takes (where the set is decided, in brackets)
DYNAMIC = {
    "student_state_{}": ("pass", "partial", "fail", "later"),             # selfcheck.CheckLine.state
    "student_col_{}": ("check", "points", "status", "reason"),            # the self-check's table columns
    "student_deadline_left_{}": ("course", "default"),                   # Deadline.from_course
    "student_deadline_passed_{}": ("course", "default"),
    "feedback_status_{}": ("graded", "not_executed", "untouched", "error",  # PracticalScore.status
                           "timeout", "invalid", "missing", "overridden"),
    "report_flag_{}": ("timeout", "error", "invalid"),                   # summary._RUN_PROBLEMS
    "status_{}": ("graded", "not_executed", "untouched", "error", "timeout",  # reports.words.STATUSES
                  "invalid", "missing", "overridden"),
    "late_{}": ("yes", "no", "unknown"),                                 # reports.words.LATENESS
    "report_col_{}": ("practical", "participant", "name", "why", "check", "kind", "passed", "mean_points",
                      "late", "mean", "median", "time", "status"),      # summary._head's columns
}


class _Finder(ast.NodeVisitor):
    """Collects codes (and f-string patterns) from one module; names resolve within their function."""

    def __init__(self, tree: ast.Module) -> None:
        self.codes: set[str] = set()
        self.patterns: set[str] = set()
        self.calls = set(CODE_CALLS)
        self.scopes: list[dict[str, list[ast.expr]]] = [_assignments(tree)]
        for node in ast.walk(tree):   # local helpers whose first parameter is a code: t = lambda code, ...
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda) and _first_arg(node.value) == "code":
                self.calls |= {t.id for t in node.targets if isinstance(t, ast.Name)}
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _first_arg(node) == "code":
                self.calls.add(node.name)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.scopes.append(_assignments(node))
        self.generic_visit(node)
        self.scopes.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node: ast.Call) -> None:
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        if name in self.calls and node.args:
            self._take(node.args[0])
        keywords = {keyword.arg: keyword.value for keyword in node.keywords}
        if "code" in keywords and "reason" not in keywords:   # an error's code is its message unless it brings one
            self._take(keywords["code"])
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        if any(getattr(t, "id", getattr(t, "attr", None)) == "code" for t in node.targets):
            self._take(node.value)
        self.generic_visit(node)

    def _take(self, expr: ast.expr, depth: int = 0) -> None:
        if depth > 5:
            return
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            self.codes.add(expr.value)
        elif isinstance(expr, ast.IfExp):
            self._take(expr.body, depth + 1)
            self._take(expr.orelse, depth + 1)
        elif isinstance(expr, ast.JoinedStr):
            self.patterns.add("".join(v.value if isinstance(v, ast.Constant) else "{}" for v in expr.values))
        elif isinstance(expr, ast.Name):
            for value in self._lookup(expr.id):
                self._take(value, depth + 1)
        elif isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Name):
            for table in self._lookup(expr.value.id):
                for value in table.values if isinstance(table, ast.Dict) else ():
                    self._take(value, depth + 1)

    def _lookup(self, name: str) -> list[ast.expr]:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return []


def _first_arg(node: ast.Lambda | ast.FunctionDef) -> str | None:
    args = node.args.posonlyargs + node.args.args
    return args[0].arg if args else None


def _assignments(scope: ast.AST) -> dict[str, list[ast.expr]]:
    """name -> the values assigned to it directly in this scope (not in nested functions)."""
    found: dict[str, list[ast.expr]] = {}
    body = list(ast.iter_child_nodes(scope))
    while body:
        node = body.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Name):
                    found.setdefault(target.id, []).append(node.value)
        body.extend(ast.iter_child_nodes(node))
    return found


def codes_in(source: str) -> tuple[set[str], set[str]]:
    finder = _Finder(tree := ast.parse(source))
    finder.visit(tree)
    return finder.codes, finder.patterns


def used_codes() -> set[str]:
    codes: set[str] = set()
    patterns: set[str] = set()
    for path in SOURCES:
        found, built = codes_in(path.read_text(encoding="utf-8"))
        codes |= found
        patterns |= built
    for template in sorted((ROOT / "grader" / "templates").rglob("*.j2")):   # t("code") in the page templates
        codes |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_]+)["']\s*[,)]""", template.read_text(encoding="utf-8")))
    unlisted = sorted(patterns - DYNAMIC.keys())
    assert not unlisted, f"codes built with f-strings whose values are not enumerated in DYNAMIC: {unlisted}"
    return codes | {pattern.format(value) for pattern, values in DYNAMIC.items() for value in values}


def _stored_only() -> set[str]:
    with STORED_ONLY.open("rb") as fh:
        return set(tomllib.load(fh))


def test_the_scan_finds_literal_conditional_looked_up_and_built_codes():
    source = '''
TABLE = {"a": "table_code"}
class E:
    code = "class_code"
def f(kind, state):
    later = "later_one" if kind else "later_two"
    t = lambda code, **p: msg(code, **p)
    E("y", code="not_a_message", reason=msg("its_reason"))
    raise E("x", code="keyword_code") if state else msg(later) or msg(TABLE[kind]) or t("helper_code") \\
        or msg(f"built_{state}") or Reason("reason_code", {})
'''
    codes, patterns = codes_in(source)
    assert codes == {"table_code", "class_code", "later_one", "later_two", "keyword_code", "helper_code", "reason_code",
                     "its_reason"}
    assert patterns == {"built_{}"}


def test_every_code_in_use_is_in_the_catalogue_in_both_languages():
    used = used_codes()
    assert {"run_timeout", "student_state_later", "feedback_status_overridden", "mnist_history_typed"} <= used
    missing = sorted(code for code in used if code not in catalogue())
    assert not missing, f"codes used without a catalogue entry: {missing}"
    for code in used:
        for lang in LANGUAGES:
            assert catalogue()[code].get(lang, "").strip(), f"{code} lacks {lang}"


def test_every_catalogue_code_is_used_or_kept_only_for_stored_results():
    used = used_codes()
    stored = _stored_only()
    unused = sorted(set(catalogue()) - used - stored)
    assert not unused, f"catalogue codes nobody emits: {unused}"
    assert not stored & used, f"stored.toml holds codes still emitted: {sorted(stored & used)}"


def test_renamed_codes_point_at_todays_codes_and_render_their_text():
    for old, new in renamed().items():
        assert old not in catalogue() and new in catalogue(), (old, new)
    assert render(msg("docker_timeout", limit_s=5, number="In [2]"), "en") == render(
        msg("run_timeout", limit_s=5, number="In [2]"), "en")
    assert render(msg("checks2_history_typed", cells="In [3]"), "es") == render(msg("mnist_history_typed", cells="In [3]"), "es")


def test_each_kind_files_its_codes_under_one_prefix():
    """A kind's codes start with its name (shape_ok, sequence_shape_ok); the check layer's own with checks_."""
    shared = {"evaluate", "outputs"}
    for path in sorted((MESSAGES_DIR / "checks").glob("*.toml")):
        prefix = "checks_" if path.stem in shared else f"{path.stem}_"
        codes = tomllib.loads(path.read_text(encoding="utf-8"))
        strays = [code for code in codes if not code.startswith(prefix)]
        assert not strays, f"{path.name}: codes without the {prefix} prefix: {strays}"


def test_a_practical_ships_its_own_catalogue_beside_its_assignment():
    files = [path.relative_to(ROOT).as_posix() for path in catalogue_files()]
    assert "assignments/mnist_cnn/messages.toml" in files
    assert "grader/messages/checks/architecture.toml" in files
    assert not any(name.endswith(("checks2.toml", "hostile.toml", "renamed.toml")) for name in files)
