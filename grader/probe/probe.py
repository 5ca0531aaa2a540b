"""The grader's probe: the only code that runs inside the student's kernel.

It feeds the grader's inputs to the student's objects and saves raw outputs (.npy, no pickle,
or a JSON value in status.json) to the out folder. It imports nothing of the grader, scores
nothing, and never lets one item's failure stop the others or crash the kernel. The kernel gets this
file with its other parts appended (grader.probe.probe_source): one file, one hash, one namespace.
"""
import builtins
import json
import os
import sys

import numpy as np

# torch and Keras 3 as the kernel has them, never a fresh import (grading a notebook that never loaded torch skips
# its ~1.5 s import). Whether the notebook itself uses them is read from its namespace (_uses), never from this:
# a warm runner's kernel has them loaded before the notebook starts.
torch = sys.modules.get("torch")
keras = sys.modules.get("keras")

PROTOCOL = 2
PARAMETERS_ITEM = "_parameters"
_MISSING = object()
MAX_ERROR_CHARS = 300
DEFAULT_BATCH = 256
MAX_LISTED = 500              # modules and parameter shapes an introspection lists
MAX_VALUES_CHARS = 900_000     # JSON values share status.json, which the grader caps at 1 MB


def main(student_ns, nonce, probe_dir=None, out_dir=None):
    """Run every item of spec.json against ``student_ns``; status.json is written last, as the seal."""
    probe_dir = probe_dir or os.environ["GRADER_PROBE_DIR"]
    out_dir = out_dir or os.environ["GRADER_OUT_DIR"]
    with builtins.open(os.path.join(probe_dir, "spec.json"), encoding="utf-8") as fh:
        spec = json.load(fh)
    os.makedirs(out_dir, exist_ok=True)
    _remove_stale(out_dir, spec["items"], spec.get("exports", []))
    run = _Run(student_ns, probe_dir, out_dir, spec.get("adaptations", ("dtype", "device", "layout")))
    statuses = {}
    judged = set()   # the names whose program the grader's judge runs: their model items are not answered here
    for export in spec.get("exports", []):
        statuses[export["item"]] = _export_programs(student_ns, export, out_dir)
        if statuses[export["item"]]["ok"]:
            judged.add(export["name"])
    for item in spec["items"]:
        if item["kind"] in ("model", "introspect") and item["name"] in judged and not item.get("method"):
            continue
        statuses[item["item"]] = run.item(item)
    if spec.get("parameters"):   # the grading parameters as they stand now, however they were changed
        statuses[PARAMETERS_ITEM] = _read_parameters(student_ns, spec["parameters"])
    _write_status(out_dir, nonce, statuses)
    ok = sum(1 for s in statuses.values() if s["ok"])
    builtins.print(f"grader probe: {ok}/{len(statuses)} items answered")
    return statuses


class _Run:
    """One probe run: raw outputs of earlier items stay here, in memory, for {"item": ...} args."""

    def __init__(self, student_ns, probe_dir, out_dir, adaptations=("dtype", "device", "layout")):
        self.ns, self.probe_dir, self.out_dir = student_ns, probe_dir, out_dir
        self.adaptations = set(adaptations)
        self.adapted = []     # what the item being answered needed adapting (named on the student's page)
        self.raw = {}
        self.values_left = MAX_VALUES_CHARS
        self.keras_notebook = _keras_notebook(student_ns)
        self.keras_edition = _keras_notebook(student_ns, torch_too=True)
        # a notebook that uses neither torch nor Keras gets numpy inputs: its functions cannot expect tensors
        self.tensors = _uses(student_ns, ("torch", "keras"))

    def item(self, item):
        name = item["name"]
        if name not in self.ns:
            return _status("missing", error=f"name {name!r} is not defined")
        self.adapted = []
        watch = _Watch(_forbidden_codes(item.get("forbid") or ()))
        try:
            # the answer is read into data inside the watch too: an object that computes it when read (a tensor
            # whose detach calls the loss) is watched like the function
            with watch:
                output = self._call(item, self.ns[name])
                if self.keras_edition and item.get("keras_output_layout"):
                    output = _contract_layout(output, item["keras_output_layout"])
                if "inputs" in item:      # v1 items: numbers only, as before
                    status = self._save_array(item, _to_numpy(output))
                else:
                    status = self._save(item, output)
            if watch.seen:   # a forbidden function did the work: the answer is not the student's, nor kept
                status = _status("error", error=f"called {', '.join(watch.seen)}")
                status["forbidden"] = watch.seen[:5]
                if os.path.lexists(self._out_path(item)):
                    os.remove(self._out_path(item))
                return status
            self.raw[item["item"]] = output
        except (Exception, SystemExit) as err:  # KeyboardInterrupt stays: it is how a timeout stops us
            status = _status("error", error=_describe(err))
        if self.adapted:
            status["adapted"] = self.adapted
        return status

    def _call(self, item, obj):
        kind = item["kind"]
        if kind == "value":
            return obj.history if _is_keras(obj, "callbacks", "History") else obj   # model.fit's answer
        args = [{"npy": f} for f in item["inputs"]] if "inputs" in item else item.get("args", [])
        if kind == "introspect":
            batch = self._arg(args[0]) if args else None
            if batch is not None and item.get("rows"):
                batch = _Array(batch.array[:int(item["rows"])])
            if _is_keras(obj, "layers", "Layer"):
                return _introspect_keras(obj, batch, item.get("keras_layout"))
            return _introspect(obj, batch)
        kwargs = item.get("kwargs", {})
        if kind == "model":
            if len(args) != 1 or "npy" not in args[0] or kwargs:
                raise ValueError("a model item takes exactly one array input")
            inputs = self._arg(args[0])
            if "translate" in item:   # token ids in the student's own numbering, when theirs is one
                table = translation_table(self.raw.get(item["translate"]), int(item["size"]))
                inputs = inputs if table is None else _Array(table[inputs.array])
            if _is_keras(obj, "layers", "Layer") and not item.get("method"):
                output = _call_keras_model(obj, inputs.array, int(item.get("batch_size", DEFAULT_BATCH)),
                                           item.get("keras_layout"))
            else:
                output = _call_model(obj, inputs, int(item.get("batch_size", DEFAULT_BATCH)), item.get("method"),
                                     self._adapt)
            if item.get("keep"):      # one position per row: a causal measurement's scored logits
                output = _kept(output, np.load(self._path(item["keep"]), allow_pickle=False))
            return output
        if kind != "function":
            raise ValueError(f"unknown item kind {kind!r}")
        loaded = ([self._arg(a) for a in args], {k: self._arg(a) for k, a in kwargs.items()})
        repeat = item.get("repeat")
        first = not self.keras_notebook     # Keras notebooks get numpy first, PyTorch ones tensors first
        if repeat is None:
            return _call_function(obj, *loaded, tensors_first=first, tensors=self.tensors)
        return [_call_function(obj, *loaded, tensors_first=first, tensors=self.tensors) for _ in range(int(repeat))]

    def _adapt(self, kind, contract, model):
        """Record an adaptation between the contract's inputs and the model, if the course allows it."""
        if kind not in self.adaptations:
            raise TypeError(f"the model expects {model} inputs where the contract gives {contract}, and the course "
                            f"grades this practical by the contract's letter ({kind} is not adapted)")
        entry = {"kind": kind, "contract": contract, "model": model}
        if entry not in self.adapted:
            self.adapted.append(entry)

    def _arg(self, arg):
        if "npy" in arg:
            return _Array(np.load(self._path(arg["npy"]), allow_pickle=False))
        if "json" in arg:
            return arg["json"]
        if "image" in arg:
            # start-up: the probe imports PIL and torch in the student's kernel only when an item needs them
            from PIL import Image
            with Image.open(self._path(arg["image"])) as image:
                image.load()
                return _Image(image.copy())
        if "item" in arg:
            if arg["item"] not in self.raw:
                raise ValueError(f"input item {arg['item']!r} has no output")
            return _handed_on(self.raw[arg["item"]])
        raise ValueError(f"unknown argument form {sorted(arg)}")

    def _path(self, file_name):
        return os.path.join(self.probe_dir, os.path.basename(file_name))

    def _save(self, item, output):
        array = _numeric(output)
        if array is not None:
            return self._save_array(item, array)
        value = _jsonable(output)
        size = len(json.dumps(value))
        if size > self.values_left:
            raise ValueError(f"output too large ({size} characters as JSON)")
        self.values_left -= size
        status = _status("ok")
        status["value"] = value
        return status

    def _out_path(self, item):
        return os.path.join(self.out_dir, item["item"] + ".npy")

    def _save_array(self, item, array):
        np.save(self._out_path(item), array, allow_pickle=False)
        return _status("ok", shape=[int(n) for n in array.shape], dtype=str(array.dtype))


class _Array:
    """An input array; each call gets a fresh copy, as a tensor first and as numpy on retry."""

    def __init__(self, array):
        self.array = array


class _Image:
    """An input PIL image; each call gets a fresh copy, so a student's in-place edit stays local."""

    def __init__(self, image):
        self.image = image


def _fresh(value, as_tensor):
    if isinstance(value, _Array):
        return torch.from_numpy(value.array.copy()) if as_tensor else value.array.copy()
    if isinstance(value, _Image):
        return value.image.copy()
    return value


def _call_function(fn, args, kwargs, tensors_first=True, tensors=True):
    """The notebook's framework first: torch tensors (the PyTorch contract) or numpy arrays (Keras,
    or no torch at all); then the other form when the function plainly wants that one. Without
    ``tensors`` (a notebook of neither torch nor Keras), numpy arrays only."""
    if not callable(fn):
        raise TypeError(f"{type(fn).__name__} object is not callable")
    has_arrays = any(isinstance(a, _Array) for a in list(args) + list(kwargs.values()))
    if torch is None or not tensors or not has_arrays:
        return fn(*[_fresh(a, False) for a in args], **{k: _fresh(a, False) for k, a in kwargs.items()})
    try:
        return fn(*[_fresh(a, tensors_first) for a in args], **{k: _fresh(a, tensors_first) for k, a in kwargs.items()})
    except (TypeError, AttributeError) as first:
        try:
            return fn(*[_fresh(a, not tensors_first) for a in args],
                      **{k: _fresh(a, not tensors_first) for k, a in kwargs.items()})
        except Exception:
            raise first from None


def _uses(ns, packages, limit=5000):
    """Whether the notebook's namespace holds anything of these top-level packages: a module, a function or
    class of theirs, an instance of one of their classes (a tensor, a model whose class derives from theirs), or a
    function of the notebook that names one (an import inside the function)."""
    for value in list(ns.values())[:limit]:
        try:
            if _of_packages(value, packages):
                return True
        except Exception:   # the notebook's objects may raise on any attribute
            continue
    return False


def _of_packages(value, packages):
    def top(name):
        return isinstance(name, str) and name.split(".")[0] in packages

    if isinstance(value, type(sys)):
        return top(value.__name__)
    kind = value if isinstance(value, type) else type(value)
    if any(top(cls.__dict__.get("__module__")) for cls in kind.__mro__):
        return True
    if not isinstance(value, type) and callable(value) and top(getattr(value, "__module__", None)):
        return True   # a function of theirs (torch.tensor, F.relu)
    code = getattr(value, "__code__", None)
    return code is not None and _names_any(code, packages)


def _names_any(code, packages, depth=0):
    if any(name in packages for name in code.co_names):
        return True
    return depth < 5 and any(_names_any(c, packages, depth + 1) for c in code.co_consts if hasattr(c, "co_names"))


def _call_model(model, inputs, batch_size, method=None, adapt=None):
    global torch
    if torch is None:  # a model is fed tensors even when the notebook never imported torch itself
        try:
            # start-up: the probe imports PIL and torch in the student's kernel only when an item needs them
            import torch
        except Exception:
            raise RuntimeError("torch is not available in the kernel") from None
    inputs = inputs.array
    call = getattr(model, method) if method else model
    if not callable(call):
        raise TypeError(f"{type(call).__name__} object is not callable")
    device, dtype = torch.device("cpu"), torch.float32
    was_training = None
    if isinstance(model, torch.nn.Module):
        was_training = model.training
        model.eval()
        first = next(iter(model.parameters()), None)
        if first is not None:
            device = first.device
            dtype = first.dtype if first.dtype.is_floating_point else torch.float32
    if inputs.dtype.kind in "iu":
        dtype = torch.int64     # token ids stay integers
    elif adapt is not None and dtype != torch.float32:
        adapt("dtype", "float32", str(dtype).replace("torch.", ""))
    if adapt is not None and device.type != "cpu":
        adapt("device", "cpu", str(device))
    outputs = []
    try:
        with torch.no_grad():
            for start in range(0, len(inputs), batch_size):
                batch = torch.from_numpy(inputs[start:start + batch_size].copy()).to(device=device, dtype=dtype)
                outputs.append(_to_numpy(call(batch)))
    finally:
        if was_training:
            model.train()
    if not outputs:
        raise ValueError("no inputs")
    return np.concatenate(outputs, axis=0)


def _kept(output, positions):
    """The logits at one position per row ([N, T, V] -> [N, V]): what a causal measurement scores."""
    array = np.asarray(output)
    if array.ndim < 3 or array.shape[0] != len(positions) or int(positions.max(initial=0)) >= array.shape[1]:
        raise ValueError(f"returned shape {tuple(array.shape)}; expected (N, T, V) logits")
    return array[np.arange(len(positions)), positions]


def translation_table(answer, size):
    """The student's ids of the contract's ids 0..size-1 (their encoder's answer on the contract's
    vocabulary) when it is a permutation of range(size), else None: their model then gets the
    contract's ids unchanged. The host applies this same function to the same answer, so both sides
    always agree on which numbering a model was fed."""
    try:
        array = _numeric(answer)
    except Exception:
        return None
    if array is None:
        return None
    array = array.reshape(-1) if array.ndim == 2 and 1 in array.shape else array
    if array.ndim != 1 or array.dtype.kind not in "iu" or len(array) != size:
        return None
    array = array.astype(np.int64)
    return array if np.array_equal(np.sort(array), np.arange(size)) else None


def _is_tensor(value):
    return torch is not None and isinstance(value, torch.Tensor)


def _to_numpy(value):
    if _is_tensor(value):
        value = value.detach().cpu()
        if value.dtype in (torch.float16, torch.bfloat16):
            value = value.float()
        return value.numpy()
    if isinstance(value, (tuple, list)) and any(_is_tensor(v) for v in value):
        raise TypeError(f"returned a {type(value).__name__} of tensors; expected one tensor")
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"returned {type(value).__name__} with dtype {array.dtype}; expected numbers")
    return array


def _numeric(output):
    """The output as a numeric array, or None when it is not numbers (then it may be a JSON value).

    Python bools are values (answers such as True); a tuple of same-shaped tensors (an optimiser
    step's (w, v)) and the results of a "repeat" are stacked; tensors of different shapes are refused."""
    if output is None or isinstance(output, (bool, str, dict)):
        return None
    if isinstance(output, (list, tuple)) and any(_is_tensor(v) or isinstance(v, np.ndarray) for v in output):
        parts = [_to_numpy(v) for v in output]
        if len({p.shape for p in parts}) > 1:
            raise TypeError(f"returned a {type(output).__name__} of tensors of shapes "
                            f"{', '.join(str(tuple(p.shape)) for p in parts[:4])}; expected one tensor")
        return np.stack(parts)
    if _is_tensor(output) or isinstance(output, (np.ndarray, np.generic, int, float)):
        return _to_numpy(output)
    if isinstance(output, (list, tuple)):
        try:
            array = np.asarray(output)
        except Exception:   # ragged lists are values, if anything
            return None
        return array if array.dtype.kind in "iuf" else None
    return None


def _jsonable(value, depth=0):
    """Plain JSON data from the output, or TypeError naming the type that is not."""
    if depth > 20:
        raise TypeError("output nested too deeply")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if (_is_tensor(value) or isinstance(value, np.ndarray)) and value.dtype != object:
        return _to_numpy(value).tolist() if _is_tensor(value) else value.tolist()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, depth + 1) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _jsonable(v, depth + 1) for k, v in value.items()}
    raise TypeError(f"returned {type(value).__name__}, which is neither numbers nor a JSON value")


def _read_parameters(ns, names):
    """Each grading parameter's value in the namespace at the end of the run: plain values as they are, a path
    or a device as its text, anything else by its type; a name no longer defined is said so."""
    found = {}
    for name in names[:50]:
        value = ns.get(name, _MISSING)
        if value is _MISSING:
            found[name] = {"missing": True}
        elif value is None or isinstance(value, (bool, int, float)) or (isinstance(value, str) and len(value) < 500):
            found[name] = {"value": value}
        elif type(value).__name__ in ("PosixPath", "WindowsPath", "Path", "device"):
            found[name] = {"value": str(value)[:500]}
        else:
            found[name] = {"type": type(value).__name__[:80]}
    status = _status("ok")
    status["value"] = found
    return status


def _status(state, error=None, shape=None, dtype=None):
    return {"status": state, "ok": state == "ok", "error": error, "shape": shape, "dtype": dtype}


def _describe(err):
    text = f"{type(err).__name__}: {err}"
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS - 3] + "..."


def _remove_stale(out_dir, items, exports=()):
    """Files left by an earlier run or planted by the notebook must not pass as this run's answers."""
    for name in ["status.json"] + [item["item"] + ".npy" for item in items] + [e["file"] for e in exports]:
        path = os.path.join(out_dir, name)
        if os.path.lexists(path):
            os.remove(path)


def _write_status(out_dir, nonce, statuses):
    tmp = os.path.join(out_dir, ".status.json.tmp")
    with builtins.open(tmp, "w", encoding="utf-8") as fh:
        json.dump({"protocol": PROTOCOL, "nonce": nonce, "items": statuses}, fh)
    os.replace(tmp, os.path.join(out_dir, "status.json"))
