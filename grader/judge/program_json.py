"""The exported program's graph JSON, checked and stripped before torch's deserializer may read it.

torch's deserializer trusts its input: it evaluates every symbolic size with ``sympy.sympify`` (``eval``),
resolves any ``torch.<path>`` target by getattr (``torch.os.system`` is one), and turns guard code into Python.
So nothing reaches it unchecked: every node target must be an aten operator (or one of a few arithmetic
builtins on sizes), every size expression must use a small grammar of sympy constructors, every name must be a
plain identifier, and what only debugging uses (stack traces, module paths, guard code) is dropped. Plain
Python over JSON data: no torch here, and no recursion (the walk keeps its own stack, with limits).
"""
from __future__ import annotations

import json
import keyword
import re
from typing import Any


class ProgramRefused(Exception):
    """A program file the judge will not run; ``str()`` says why, in a phrase for a student's page."""


MAX_NODES = 200_000        # graph nodes of one program (EfficientNet-Lite0: ~600)
MAX_DEPTH = 64             # nesting of the JSON itself
MAX_ITEMS = 20_000_000     # JSON values walked, all together

_ATEN = re.compile(r"^torch\.ops\.aten\.([a-z_][a-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)$")
# aten operators that reach outside the process (a file) are never run, whatever the graph says
_DENIED_ATEN = frozenset({"from_file", "_print", "save", "load"})
_BUILTIN_TARGETS = frozenset({
    "_operator.getitem", "_operator.add", "_operator.sub", "_operator.mul", "_operator.floordiv",
    "_operator.truediv", "_operator.mod", "_operator.neg", "_operator.pow", "_operator.eq", "_operator.ne",
    "_operator.lt", "_operator.le", "_operator.gt", "_operator.ge", "_operator.and_", "_operator.or_",
    "_operator.not_", "math.ceil", "math.floor", "math.sqrt", "math.trunc", "torch.sym_float", "torch.sym_int",
    "torch.sym_max", "torch.sym_min", "torch.sym_not", "torch.sym_ite", "torch.sym_sqrt", "torch.sym_sum",
})
_FORBIDDEN_KEYS = frozenset({"as_graph", "as_custom_obj", "as_operator", "custom_obj_values"})
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# parameter and buffer paths: Keras names them "m._torch_params.sequential/conv2d/kernel"
_STATE_PATH = re.compile(r"^[A-Za-z0-9_./\-]{1,300}$")
# sympy's srepr of a size: constructors, integers, symbol names in quotes, keyword flags
_EXPR_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<int>-?\d+)|'(?P<symbol>[a-z]+\d+)'"
                         r"|(?P<punct>[(),=+\-*/]))")
_EXPR_NAMES = frozenset({
    "Symbol", "Integer", "Rational", "Add", "Mul", "Pow", "Max", "Min", "Mod", "Eq", "Ne", "Lt", "Le", "Gt", "Ge",
    "And", "Or", "Not", "true", "false", "True", "False", "integer", "positive", "nonnegative", "negative", "real",
    "finite", "oo", "int_oo", "FloorDiv", "ModularIndexing", "Where", "PythonMod", "CleanDiv", "CeilToInt",
    "FloorToInt", "CeilDiv", "LShift", "RShift", "PowByNatural", "IntTrueDiv", "FloatTrueDiv", "IsNonOverlappingAndDenseIndicator",
    "TruncToInt", "TruncToFloat", "RoundToInt", "RoundDecimal", "ToFloat", "FloatPow", "OpaqueUnaryFn_sqrt", "Identity",
})
_TREESPEC_TYPES = frozenset({None, "builtins.tuple", "builtins.list", "builtins.dict", "collections.OrderedDict",
                             "torch.fx.immutable_collections.immutable_list",
                             "torch.fx.immutable_collections.immutable_dict"})
_VERIFIERS = frozenset({"TRAINING", "EXPORT_IR"})


def sanitised(program: Any) -> dict[str, Any]:
    """The program's JSON with debugging data dropped, or ProgramRefused naming the first thing not allowed."""
    if not isinstance(program, dict) or not isinstance(program.get("graph_module"), dict):
        raise ProgramRefused("the program file holds no graph")
    _walk(program)
    module = program["graph_module"]
    graph = module.get("graph")
    if not isinstance(graph, dict) or not isinstance(graph.get("nodes"), list):
        raise ProgramRefused("the program file holds no graph")
    if len(graph["nodes"]) > MAX_NODES:
        raise ProgramRefused(f"the program has more than {MAX_NODES} operations")
    for node in graph["nodes"]:
        _check_node(node)
    _check_state_names(module.get("signature"))
    if module.get("treespec_namedtuple_fields"):
        raise ProgramRefused("the program's output holds a namedtuple")
    if not set(program.get("verifiers") or []) <= _VERIFIERS:
        raise ProgramRefused("the program was exported in an unknown dialect")
    module["metadata"] = {}
    module["module_call_graph"] = _root_call_only(module.get("module_call_graph"))
    program["guards_code"] = []     # the judge checks every input's shape itself
    return program


def check_expression(text: Any) -> None:
    """A symbolic size as sympy's srepr writes it, and nothing a Python ``eval`` could do harm with."""
    if not isinstance(text, str) or len(text) > 2000:
        raise ProgramRefused("the program holds an unreadable size expression")
    position = 0
    while position < len(text):
        match = _EXPR_TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ProgramRefused("the program holds a size expression the judge does not read")
        if match.group("name") is not None and match.group("name") not in _EXPR_NAMES:
            raise ProgramRefused(f"the program's size expressions name {match.group('name')!r}")
        position = match.end()
        if text[position:].strip() == "":
            break


def _walk(program: dict[str, Any]) -> None:
    """Every value once, with a stack of our own: forbidden keys, size expressions, names, limits."""
    stack: list[tuple[Any, int]] = [(program, 0)]
    seen = 0
    while stack:
        value, depth = stack.pop()
        seen += 1
        if seen > MAX_ITEMS:
            raise ProgramRefused("the program file is too large to read")
        if depth > MAX_DEPTH:
            raise ProgramRefused("the program file is nested too deeply")
        if isinstance(value, dict):
            for key, child in value.items():
                if key in _FORBIDDEN_KEYS and child not in (None, [], {}):
                    raise ProgramRefused(f"the program holds {key.removeprefix('as_').replace('_', ' ')} values, which the "
                                         "judge does not run")
                if key == "expr_str":
                    check_expression(child)
                elif key == "name" and isinstance(child, str):
                    _check_identifier(child)
                if key != "metadata":   # stack traces and module paths: dropped below, never read
                    stack.append((child, depth + 1))
        elif isinstance(value, list):
            stack.extend((child, depth + 1) for child in value)


def _check_node(node: Any) -> None:
    if not isinstance(node, dict):
        raise ProgramRefused("the program's graph is malformed")
    target = node.get("target")
    if not isinstance(target, str):
        raise ProgramRefused("the program's graph is malformed")
    aten = _ATEN.match(target)
    if aten is not None:
        if aten.group(1) in _DENIED_ATEN:
            raise ProgramRefused(f"the program calls aten.{aten.group(1)}, which the judge never runs")
    elif target not in _BUILTIN_TARGETS:
        raise ProgramRefused(f"the program calls {target[:80]!r}, which is not a tensor operation the judge runs")
    node["metadata"] = {}


def _check_identifier(name: str) -> None:
    if not _IDENTIFIER.match(name) or keyword.iskeyword(name) or len(name) > 200:
        raise ProgramRefused(f"the program holds the name {name[:40]!r}, which is not a plain identifier")


def _check_state_names(signature: Any) -> None:
    if not isinstance(signature, dict):
        raise ProgramRefused("the program has no signature")
    for spec in signature.get("input_specs") or []:
        for entry in (spec or {}).values():
            if not isinstance(entry, dict):
                continue
            for key in ("parameter_name", "buffer_name", "tensor_constant_name"):
                path = entry.get(key)
                if path is not None and not (isinstance(path, str) and _STATE_PATH.match(path)):
                    raise ProgramRefused("the program names a weight with characters the judge does not accept")
            if entry.get("custom_obj_name") is not None:
                raise ProgramRefused("the program holds custom objects, which the judge does not run")


def _root_call_only(entries: Any) -> list[dict[str, Any]]:
    """The module call graph as the judge needs it: the root's signature, its input/output trees checked."""
    root = next((e for e in entries or [] if isinstance(e, dict) and e.get("fqn") == ""), None)
    if root is None or not isinstance(root.get("signature"), dict):
        raise ProgramRefused("the program has no call signature")
    signature = root["signature"]
    for key in ("in_spec", "out_spec"):
        try:
            tree = json.loads(signature.get(key) or "null")
        except ValueError:
            raise ProgramRefused("the program's call signature is unreadable") from None
        _check_treespec(tree)
    return [{"fqn": "", "signature": signature}]


def _check_treespec(tree: Any) -> None:
    stack = [tree]
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, dict):
            if "type" in value and value["type"] not in _TREESPEC_TYPES:
                raise ProgramRefused(f"the program's inputs or outputs hold a {str(value['type'])[:60]}")
            stack.extend(value.get("children_spec") or [])
