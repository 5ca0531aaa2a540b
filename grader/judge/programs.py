"""Reading a program file (.npz of plain arrays) into runnable programs, in the judge's sandboxed process only.

The file is hostile: its members are checked by name and declared size before any is read, arrays are loaded
with ``allow_pickle=False``, the graph JSON is sanitised (program_json.py) before torch's deserializer reads it,
and the weights reach that deserializer as bytes this process wrote itself. After loading, every operation of
the graph is checked again, as objects this time.
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grader.judge.program_json import ProgramRefused, sanitised

MAX_FILE_BYTES = 1 << 30
MAX_GRAPH_BYTES = 256 << 20
MAX_PROGRAMS = 8
_MEMBER = re.compile(r"^(manifest|g\d{1,2}|t\d{1,7})\.npy$")
_TORCH_DTYPES = ("float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool")


@dataclass
class Program:
    """One exported program and the input shapes it accepts (None: a dynamic dimension)."""

    exported: Any             # torch.export.ExportedProgram
    input_shape: tuple[int | None, ...]
    input_dtype: str
    _module: Any = None       # the runnable module, made once (making one re-lifts every weight: 45 ms each)

    def runnable(self) -> Any:
        """The program as a module to call; the same one every time (run under no_grad, it keeps no state)."""
        if self._module is None:
            self._module = self.exported.module()
        return self._module

    def serves(self, shape: tuple[int, ...]) -> bool:
        return len(shape) == len(self.input_shape) and all(
            want is None and size >= 2 or want == size for want, size in zip(self.input_shape, shape))


def load_programs(path: Path, device: str = "cpu") -> list[Program]:
    """The programs of one file, ready to run on ``device``; ProgramRefused says why not."""
    arrays = _members(path)
    try:
        manifest = json.loads(arrays["manifest"].tobytes().decode("utf-8"))
    except (KeyError, UnicodeDecodeError, ValueError):
        raise ProgramRefused("the program file has no readable manifest") from None
    entries = manifest.get("programs") if isinstance(manifest, dict) else None
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_PROGRAMS:
        raise ProgramRefused("the program file lists no programs")
    return [_program(entry, arrays, device) for entry in entries]


def _members(path: Path) -> dict[str, np.ndarray]:
    size = Path(path).stat().st_size
    if size > MAX_FILE_BYTES:
        raise ProgramRefused(f"the program file is larger than {MAX_FILE_BYTES >> 20} MB")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            declared = sum(info.file_size for info in infos)
            if declared > MAX_FILE_BYTES or any(not _MEMBER.match(info.filename) for info in infos):
                raise ProgramRefused("the program file holds members the judge does not read")
            arrays = {}
            for info in infos:
                with archive.open(info) as member:
                    arrays[info.filename[:-4]] = np.load(io.BytesIO(member.read(info.file_size + 1)),
                                                         allow_pickle=False)
    except ProgramRefused:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
        raise ProgramRefused(f"the program file is not a plain array archive ({type(err).__name__})") from None
    return arrays


def _program(entry: Any, arrays: dict[str, np.ndarray], device: str) -> Program:
    # start-up: torch only in the judge's own process, once a program is judged
    from torch._export.serde.serialize import SerializedArtifact, deserialize

    if not isinstance(entry, dict) or entry.get("graph") not in arrays:
        raise ProgramRefused("the program file's manifest is malformed")
    graph_bytes = arrays[entry["graph"]]
    if graph_bytes.dtype != np.uint8 or graph_bytes.size > MAX_GRAPH_BYTES:
        raise ProgramRefused("the program's graph is not UTF-8 text")
    try:
        graph = json.loads(graph_bytes.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ProgramRefused("the program's graph is not valid JSON") from None
    graph = sanitised(graph)
    parameters = _parameter_names(graph)
    state = {name: _tensor(spec, arrays, name in parameters) for name, spec in _table(entry, "state_dict").items()}
    constants = {name: _tensor(spec, arrays, False) for name, spec in _table(entry, "constants").items()}
    artifact = SerializedArtifact(json.dumps(graph).encode("utf-8"), _saved(state), _saved(constants), b"")
    try:
        exported = deserialize(artifact)
    except Exception as err:   # torch's own checks of a graph that passed ours
        raise ProgramRefused(f"the program could not be loaded ({type(err).__name__}: {str(err)[:160]})") from None
    check_operations(exported)
    # always: a model exported on a GPU names cuda in its graph (the contract adapter moves inputs there), and the
    # judge may have only a CPU, or another GPU
    # start-up: torch only in the judge's own process, once a program is judged
    from torch.export.passes import move_to_device_pass

    exported = move_to_device_pass(exported, device)
    shape, dtype = _user_input(exported)
    return Program(exported, shape, dtype)


def check_operations(exported: Any) -> None:
    """Every call in the loaded graph is an aten operator or a size builtin (a second look, as objects)."""
    # start-up: torch only in the judge's own process, once a program is judged
    import torch

    allowed_modules = ("_operator", "operator", "math")
    for node in exported.graph.nodes:
        if node.op in ("placeholder", "output", "get_attr"):
            continue
        target = node.target
        if node.op != "call_function":
            raise ProgramRefused(f"the program holds a {node.op} node")
        if isinstance(target, torch._ops.OpOverload):
            if target.namespace != "aten":
                raise ProgramRefused(f"the program calls {target.namespace}.{target.__name__}")
            continue
        module = getattr(target, "__module__", None)
        if not (module in allowed_modules or
                (module in ("torch", "torch.fx.experimental.sym_node") and getattr(target, "__name__", "").startswith("sym_"))):
            raise ProgramRefused(f"the program calls {getattr(target, '__name__', target)!s:.60}")


def _table(entry: dict, key: str) -> dict[str, dict]:
    table = entry.get(key, {})
    if not isinstance(table, dict) or not all(isinstance(v, dict) for v in table.values()):
        raise ProgramRefused("the program file's manifest is malformed")
    return table


def _parameter_names(graph: dict) -> set[str]:
    specs = graph["graph_module"]["signature"].get("input_specs") or []
    return {spec["parameter"]["parameter_name"] for spec in specs if isinstance(spec, dict) and "parameter" in spec}


def _tensor(spec: dict, arrays: dict[str, np.ndarray], parameter: bool):
    # start-up: torch only in the judge's own process, once a program is judged
    import torch

    array, dtype = arrays.get(spec.get("key")), spec.get("dtype")
    if array is None or dtype not in _TORCH_DTYPES:
        raise ProgramRefused("the program file's weights are malformed")
    if dtype == "bfloat16":
        if array.dtype != np.uint16:
            raise ProgramRefused("the program file's weights are malformed")
        tensor = torch.from_numpy(array.view(np.int16).copy()).view(torch.bfloat16)
    else:
        if array.dtype.kind not in "biuf":
            raise ProgramRefused("the program file's weights are malformed")
        tensor = torch.from_numpy(np.ascontiguousarray(array)).to(getattr(torch, dtype))
    return torch.nn.Parameter(tensor, requires_grad=tensor.is_floating_point()) if parameter else tensor


def _saved(tensors: dict) -> bytes:
    """Bytes of this process's own making for the deserializer (which reads them with torch.load)."""
    # start-up: torch only in the judge's own process, once a program is judged
    import torch

    if not tensors:
        return b""
    buffer = io.BytesIO()
    torch.save(tensors, buffer)
    return buffer.getvalue()


def _user_input(exported: Any) -> tuple[tuple[int | None, ...], str]:
    # start-up: torch only in the judge's own process, once a program is judged
    import torch

    names = [spec.arg.name for spec in exported.graph_signature.input_specs if spec.kind.name == "USER_INPUT"]
    if len(names) != 1:
        raise ProgramRefused(f"the program takes {len(names)} inputs; the contract gives one")
    node = next(n for n in exported.graph.nodes if n.op == "placeholder" and n.name == names[0])
    value = node.meta.get("val")
    if value is None:
        raise ProgramRefused("the program does not say what input it takes")
    shape = tuple(int(d) if isinstance(d, int) else None for d in value.shape)
    dtype = str(value.dtype).replace("torch.", "")
    if isinstance(value.dtype, torch.dtype) and dtype not in _TORCH_DTYPES:
        raise ProgramRefused(f"the program takes {dtype} input")
    return shape, dtype
