"""The judge's answers: the student's program run on the grader's inputs, in the judge's process.

``model`` items: the program's output on every input, batch by batch (optionally only the logits at one
position per row, for a measurement that is causal by construction). ``introspect`` items: which operation
families the answer really depends on, read from the graph on the very inputs that are scored: an operation
counts when its weights are stored tensors of the program (parameters, or the constants Keras lifts them to),
the answer's gradient reaches them (under a fixed random weighting of the answer), its own output varies
across the batch (a convolution of zeros adds a constant, not a layer), and the answer moves when that output is
changed: the graph is run again with noise of the output's own scale added to it. A gradient alone can be had
for nothing (``c - c.detach()`` is zero in value and one in gradient); the answer's value cannot.
"""
from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from grader.judge.programs import Program

# aten operators by family, as the architecture check names them
FAMILIES = {
    "convolution": {"conv1d", "conv2d", "conv3d", "convolution", "_convolution", "conv_tbc", "mkldnn_convolution"},
    "transposed_convolution": {"conv_transpose1d", "conv_transpose2d", "conv_transpose3d"},
    "recurrent": {"lstm", "gru", "rnn_tanh", "rnn_relu", "lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell"},
    "linear": {"linear", "addmm", "mm", "matmul", "bmm"},
    "embedding": {"embedding"},
}
_WEIGHT_ARG = {"linear": 1, "addmm": 2, "mm": 1, "matmul": 1, "bmm": 1, "embedding": 0}   # default: argument 1
_CONSTANT = 1e-7      # an output whose spread over the batch stays below this is taken as constant
_MOVED = 1e-5         # the answer moved: by more than this share of its own scale when an output gets noise


class AnswerError(Exception):
    """An item the program cannot answer; ``str()`` is a short phrase for the student's page."""


def run_model(programs: list[Program], inputs: np.ndarray, batch_size: int, keep: np.ndarray | None,
              device: str = "cpu") -> np.ndarray:
    """The program's outputs on ``inputs``; with ``keep`` (one position per row), only the logits there."""
    # start-up: torch only in the judge's own process, once a program is judged
    import torch

    outputs = []
    with torch.no_grad():
        for start in range(0, len(inputs), batch_size):
            chunk = inputs[start:start + batch_size]
            program = _serving(programs, chunk.shape)
            answer = _one_tensor(program.runnable()(_tensor(chunk, program, device)))
            array = _numpy(answer)
            if keep is not None:
                array = _kept(array, keep[start:start + batch_size])
            outputs.append(array)
    if not outputs:
        raise AnswerError("no inputs")
    return np.concatenate(outputs, axis=0)


class Answered:
    """Outputs already computed, one row per input row, found again by the rows' bytes: an item whose every input
    row was answered before (the loss's held-out images are a sample of the accuracy's) is read from them instead of
    run again. Only plain per-row answers are kept (no ``keep``), so each row's answer is the model's on that row."""

    def __init__(self) -> None:
        self._answered: list[tuple[tuple, dict[bytes, int], np.ndarray]] = []

    def add(self, inputs: np.ndarray, output: np.ndarray) -> None:
        if len(output) != len(inputs) or not len(inputs):
            return   # not one answer per row: nothing to reuse
        rows = {_digest(row): index for index, row in enumerate(inputs)}
        self._answered.append(((inputs.dtype.str, inputs.shape[1:]), rows, output))

    def find(self, inputs: np.ndarray) -> np.ndarray | None:
        kind = (inputs.dtype.str, inputs.shape[1:])
        digests = [_digest(row) for row in inputs] if len(inputs) else []
        for answered_kind, rows, output in self._answered if digests else ():
            if answered_kind == kind and all(d in rows for d in digests):
                return output[np.asarray([rows[d] for d in digests])]
        return None


def _digest(row: np.ndarray) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(row).tobytes(), digest_size=16).digest()


def introspect(programs: list[Program], inputs: np.ndarray, device: str = "cpu") -> dict[str, Any]:
    """Families present in the graph, and those the answer depends on for these inputs (see module doc)."""
    # start-up: torch only in the judge's own process, once a program is judged
    import torch

    program = _serving(programs, inputs.shape)
    module = program.exported.module()
    watched = {node: family for node in module.graph.nodes if (family := family_of(node)) is not None}
    sources = {node: _weight_sources(node) for node in watched}
    weights = {target: tensor for target in set().union(*sources.values(), set())
               if (tensor := _attribute(module, target)) is not None and tensor.is_floating_point()}
    for tensor in weights.values():
        tensor.requires_grad_(True)
    recorder = _Recorder(module, watched)
    given = _tensor(inputs, program, device)
    with torch.enable_grad():
        answer = recorder.run(given)
        tensors = [t for t in _tensors_in(answer) if t.requires_grad and t.is_floating_point()]
        reached = _reached(tensors, weights)
    present, used = set(watched.values()), set()
    for node, family in watched.items():
        if family in used:   # one node that counts is enough for its family
            continue
        if (any(reached.get(target) for target in sources[node]) and _varies(recorder.outputs.get(node))
                and _moves(module, node, given, tensors)):
            used.add(family)
    return {"present": sorted(present), "used": sorted(used), "rows": int(len(inputs))}


def _moves(module: Any, node: Any, given: Any, answer: list) -> bool:
    """Whether the answer moves when ``node``'s output gets noise of its own scale (the graph run once more)."""
    # start-up: torch only in the judge's own process, once a program is judged
    import torch

    with torch.no_grad():
        moved = _tensors_in(_Recorder(module, {}, noisy=node).run(given))   # no output kept: only the answer
    if len(moved) != len(answer):
        return True
    for before, after in zip(answer, moved):
        before, after = before.detach().float(), after.detach().float()
        if before.shape != after.shape:
            return True
        scale = before.abs().max() if before.numel() else torch.tensor(0.0)
        if bool(((before - after).abs() > _MOVED * (scale + 1)).any()):
            return True
    return False


def _noisy(value: Any) -> Any:
    """``value`` with noise of its own scale added to every floating-point tensor in it (a fixed draw)."""
    # start-up: torch only in the judge's own process, once a program is judged
    import torch

    if isinstance(value, (tuple, list)):
        return type(value)(_noisy(item) for item in value)
    if not isinstance(value, torch.Tensor) or not value.is_floating_point() or not value.numel():
        return value
    draw = torch.randn(value.shape, generator=torch.Generator().manual_seed(1)).to(value.device, value.dtype)
    return value + draw * (value.detach().float().std(correction=0) + 1).to(value.dtype)


def family_of(node: Any) -> str | None:
    if node.op != "call_function" or not hasattr(node.target, "_schema"):
        return None
    name = node.target._schema.name.split("::")[-1]
    for family, names in FAMILIES.items():
        if name in names:
            if name in ("convolution", "_convolution") and len(node.args) > 6 and node.args[6] is True:
                return "transposed_convolution"
            return family
    return None


class _Recorder:
    """Runs the graph node by node (torch.fx.Interpreter), keeping the outputs of the watched nodes; ``noisy``: the
    node whose output gets noise on the way (``_moves``)."""

    def __init__(self, module: Any, watched: dict, noisy: Any = None) -> None:
        # start-up: torch only in the judge's own process, once a program is judged
        import torch.fx

        outer = self

        class Interpreter(torch.fx.Interpreter):
            def run_node(self, node):
                value = super().run_node(node)
                if node is noisy:
                    value = _noisy(value)
                if node in watched:
                    outer.outputs[node] = value
                return value

        self.outputs: dict = {}
        self.interpreter = Interpreter(module)

    def run(self, *args):
        return self.interpreter.run(*args)


def _reached(tensors: list, weights: dict) -> dict[str, bool]:
    """Weight -> whether the answer's gradient reaches it (not zero everywhere)."""
    # start-up: torch only in the judge's own process, once a program is judged
    import torch

    trainable = {name: w for name, w in weights.items() if w.requires_grad}
    if not tensors or not trainable:
        return {}
    weights = torch.Generator().manual_seed(0)
    total = sum((t.float() * torch.randn(t.shape, generator=weights).to(t.device)).sum() for t in tensors)
    grads = torch.autograd.grad(total, list(trainable.values()), allow_unused=True)
    return {name: g is not None and bool(torch.any(g != 0)) for name, g in zip(trainable, grads)}


def _weight_sources(node: Any) -> set[str]:
    """The stored tensors (get_attr targets) the node's weight argument is computed from: Keras permutes and
    casts its kernels first, so the walk goes back through whatever ops lie in between."""
    name = node.target._schema.name.split("::")[-1]
    position = _WEIGHT_ARG.get(name, 1)
    if len(node.args) <= position:
        return set()
    found, stack, seen = set(), [node.args[position]], set()
    while stack:
        value = stack.pop()
        if isinstance(value, (list, tuple)):
            stack.extend(value)
            continue
        if not hasattr(value, "op") or value in seen or len(seen) > 10_000:
            continue
        seen.add(value)
        if value.op == "get_attr":
            found.add(value.target)
        elif value.op != "placeholder":     # the input itself is data, never a weight
            stack.extend(value.all_input_nodes)
    return found


def _attribute(module: Any, target: str):
    """The tensor a get_attr target names (Keras's parameter names hold '/': one attribute, not a path)."""
    # start-up: torch only in the judge's own process, once a program is judged
    import torch

    value = module
    for part in target.split("."):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value if isinstance(value, torch.Tensor) else None


def _varies(output: Any) -> bool:
    tensors = _tensors_in(output)
    if not tensors:
        return False
    first = tensors[0].detach().float()
    if first.dim() == 0 or first.shape[0] < 2:
        return bool(first.abs().max() > _CONSTANT) if first.numel() else False
    return bool((first - first[:1]).abs().max() > _CONSTANT)


def _serving(programs: list[Program], shape: tuple[int, ...]) -> Program:
    for program in programs:
        if program.serves(tuple(shape)):
            return program
    raise AnswerError(f"the exported model takes no input of shape {tuple(shape)}")


def _tensor(array: np.ndarray, program: Program, device: str):
    # start-up: torch only in the judge's own process, once a program is judged
    import torch

    if array.dtype.kind in "iu" and not program.input_dtype.startswith("int"):
        raise AnswerError(f"the exported model takes {program.input_dtype} input, not token ids")
    return torch.from_numpy(np.ascontiguousarray(array)).to(device=device, dtype=getattr(torch, program.input_dtype))


def _tensors_in(value: Any) -> list:
    # start-up: torch only in the judge's own process, once a program is judged
    import torch

    found, stack = [], [value]
    while stack and len(found) < 1000:
        item = stack.pop()
        if isinstance(item, torch.Tensor):
            found.append(item)
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return found


def _one_tensor(answer: Any):
    """The probe's rule, kept here: a model answers one tensor."""
    # start-up: torch only in the judge's own process, once a program is judged
    import torch

    if isinstance(answer, torch.Tensor):
        return answer
    if isinstance(answer, (tuple, list)) and any(isinstance(v, torch.Tensor) for v in answer):
        raise AnswerError(f"returned a {type(answer).__name__} of tensors; expected one tensor")
    raise AnswerError(f"returned {type(answer).__name__}; expected one tensor")


def _numpy(tensor) -> np.ndarray:
    # start-up: torch only in the judge's own process, once a program is judged
    import torch

    tensor = tensor.detach().cpu()
    if tensor.dtype in (torch.float16, torch.bfloat16):
        tensor = tensor.float()
    if tensor.dtype.is_complex:
        raise AnswerError("returned complex numbers")
    return tensor.numpy()


def _kept(array: np.ndarray, positions: np.ndarray) -> np.ndarray:
    if array.ndim < 2 or array.shape[0] != len(positions) or int(positions.max(initial=0)) >= array.shape[1]:
        raise AnswerError(f"returned shape {tuple(array.shape)}; expected (N, T, V) logits")
    return array[np.arange(len(positions)), positions]
