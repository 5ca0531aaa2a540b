"""The grader's probe: the only code that runs inside the student's kernel.

It feeds the grader's inputs to the student's objects and saves raw outputs (.npy, no pickle)
plus status.json to the out folder. It imports nothing of the grader, scores nothing, and never
lets one item's failure stop the others or crash the kernel.
"""
import builtins
import json
import os

import numpy as np

try:
    import torch
except Exception:  # a kernel without torch can still answer numpy function items
    torch = None

MAX_ERROR_CHARS = 300
DEFAULT_BATCH = 256


def main(student_ns, nonce, probe_dir=None, out_dir=None):
    """Run every item of spec.json against ``student_ns``; status.json is written last, as the seal."""
    probe_dir = probe_dir or os.environ["GRADER_PROBE_DIR"]
    out_dir = out_dir or os.environ["GRADER_OUT_DIR"]
    with builtins.open(os.path.join(probe_dir, "spec.json"), encoding="utf-8") as fh:
        spec = json.load(fh)
    os.makedirs(out_dir, exist_ok=True)
    _remove_stale(out_dir, spec["items"])
    statuses = {}
    for item in spec["items"]:
        statuses[item["item"]] = _run_item(item, student_ns, probe_dir, out_dir)
    _write_status(out_dir, nonce, statuses)
    ok = sum(1 for s in statuses.values() if s["ok"])
    builtins.print(f"grader probe: {ok}/{len(statuses)} items answered")
    return statuses


def _run_item(item, student_ns, probe_dir, out_dir):
    name = item["name"]
    if name not in student_ns:
        return _status("missing", error=f"name {name!r} is not defined")
    try:
        inputs = [np.load(os.path.join(probe_dir, f), allow_pickle=False) for f in item["inputs"]]
        if item["kind"] == "model":
            output = _call_model(student_ns[name], inputs[0], int(item.get("batch_size", DEFAULT_BATCH)))
        else:
            output = _call_function(student_ns[name], inputs)
        array = _to_numpy(output)
        np.save(os.path.join(out_dir, item["item"] + ".npy"), array, allow_pickle=False)
    except (Exception, SystemExit) as err:  # KeyboardInterrupt stays: it is how a timeout stops us
        return _status("error", error=_describe(err))
    return _status("ok", shape=[int(n) for n in array.shape], dtype=str(array.dtype))


def _call_function(fn, inputs):
    """Torch tensors first (the contract); numpy arrays when the function plainly wants those."""
    if not callable(fn):
        raise TypeError(f"{type(fn).__name__} object is not callable")
    if torch is not None:
        try:
            return fn(*[torch.from_numpy(a.copy()) for a in inputs])
        except (TypeError, AttributeError) as first:
            try:
                return fn(*[a.copy() for a in inputs])
            except Exception:
                raise first from None
    return fn(*[a.copy() for a in inputs])


def _call_model(model, inputs, batch_size):
    if torch is None:
        raise RuntimeError("torch is not available in the kernel")
    if not callable(model):
        raise TypeError(f"{type(model).__name__} object is not callable")
    device, dtype = torch.device("cpu"), torch.float32
    was_training = None
    if isinstance(model, torch.nn.Module):
        was_training = model.training
        model.eval()
        first = next(iter(model.parameters()), None)
        if first is not None:
            device = first.device
            dtype = first.dtype if first.dtype.is_floating_point else torch.float32
    outputs = []
    try:
        with torch.no_grad():
            for start in range(0, len(inputs), batch_size):
                batch = torch.from_numpy(inputs[start:start + batch_size].copy()).to(device=device, dtype=dtype)
                outputs.append(_to_numpy(model(batch)))
    finally:
        if was_training:
            model.train()
    if not outputs:
        raise ValueError("no inputs")
    return np.concatenate(outputs, axis=0)


def _to_numpy(value):
    if torch is not None and isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.dtype in (torch.float16, torch.bfloat16):
            value = value.float()
        return value.numpy()
    if isinstance(value, (tuple, list)) and any(torch is not None and isinstance(v, torch.Tensor) for v in value):
        raise TypeError(f"returned a {type(value).__name__} of tensors; expected one tensor")
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"returned {type(value).__name__} with dtype {array.dtype}; expected numbers")
    return array


def _status(state, error=None, shape=None, dtype=None):
    return {"status": state, "ok": state == "ok", "error": error, "shape": shape, "dtype": dtype}


def _describe(err):
    text = f"{type(err).__name__}: {err}"
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS - 3] + "..."


def _remove_stale(out_dir, items):
    """Files left by an earlier run or planted by the notebook must not pass as this run's answers."""
    for name in ["status.json"] + [item["item"] + ".npy" for item in items]:
        path = os.path.join(out_dir, name)
        if os.path.lexists(path):
            os.remove(path)


def _write_status(out_dir, nonce, statuses):
    tmp = os.path.join(out_dir, ".status.json.tmp")
    with builtins.open(tmp, "w", encoding="utf-8") as fh:
        json.dump({"nonce": nonce, "items": statuses}, fh)
    os.replace(tmp, os.path.join(out_dir, "status.json"))
