# The probe's export part: the student's model written out as a program (torch.export), for the grader's judge.
#
# Not a module of its own: grader.probe.probe_source appends this file to probe.py (one file, one hash, one
# namespace). It only EXPORTS: the program (an aten graph and its tensors) is written to out/ as one .npz of
# plain arrays, never a pickle, and a process the student's code never touches runs it on the held-out data
# (grader.judge). Names used here and defined in probe.py/probe_keras.py: np, torch, keras, json, os,
# builtins, _is_keras, _keras_input_channels_first, _describe, _status.
# ruff: noqa: F821

EXPORT_FORMAT = 1
MAX_PROGRAM_BYTES = 1 << 30      # the host refuses a larger program file anyway


def _export_programs(ns, export, out_dir):
    """Write ``export["file"]``: programs of ``ns[export["name"]]`` covering every input shape the judge
    will feed. A status says ok (the judge answers the model's items) or why not (the probe answers them
    here, as before, and the student's page says so)."""
    name = export["name"]
    if torch is None:
        return _status("error", error="torch is not loaded in the kernel: nothing to export")
    if name not in ns:
        return _status("missing", error=f"name {name!r} is not defined")
    model = ns[name]
    try:
        contract = _Contract(model, export)
        programs = []
        for shape in export["shapes"]:
            if any(_serves(program, shape) for program in programs):
                continue
            programs.append(_export_one(contract, shape, export["dtype"]))
        _write_program_file(os.path.join(out_dir, export["file"]), programs, contract)
    except (Exception, SystemExit) as err:
        return _status("error", error=_describe(err))
    status = _status("ok")
    status["value"] = {"programs": len(programs), "adapted": contract.adapted, "received": contract.received}
    return status


class _ContractBase:
    pass


if torch is not None:
    class _ContractBase(torch.nn.Module):   # noqa: F811  (an nn.Module only where torch is loaded)
        pass


class _Contract(_ContractBase):
    """The contract's input (e.g. float32 [N, 1, 28, 28]) as the student's model takes it: moved to its
    device, cast to its floating dtype, channels last for a Keras model of an NHWC edition. Every
    adaptation is recorded, so that the student's page can name it."""

    def __init__(self, model, export):
        super().__init__()
        self.keras = _is_keras(model, "layers", "Layer")
        if not self.keras and not isinstance(model, torch.nn.Module):
            raise TypeError(f"{type(model).__name__} is not a torch.nn.Module or a Keras model")
        self.model = model
        self.adapted = []
        allowed = set(export.get("adaptations", ("dtype", "device", "layout")))
        contract_dtype = export["dtype"]
        self.device, self.dtype = _model_device_dtype(model, contract_dtype)
        if self.device.type != "cpu":
            self._adapt("device", allowed, "cpu", str(self.device))
        self.cast = contract_dtype.startswith("float") and str(self.dtype).replace("torch.", "") != contract_dtype
        if self.cast:
            self._adapt("dtype", allowed, contract_dtype, str(self.dtype).replace("torch.", ""))
        self.channels_last = False
        if self.keras and export.get("keras_layout") == "NHWC" and len(export["shapes"][0]) >= 4:
            self.channels_last = not _keras_input_channels_first(model, export["shapes"][0])
            if not self.channels_last:
                self._adapt("layout", allowed, "NHWC", "NCHW")
        shape = list(export["shapes"][0][1:])
        if self.channels_last:
            shape = shape[1:] + shape[:1]
        received_dtype = str(self.dtype).replace("torch.", "") if self.cast else contract_dtype
        self.received = {"dtype": received_dtype, "shape": shape, "device": str(self.device)}
        if not self.keras:
            self.model.eval()   # a Keras model is called with training=False instead

    def _adapt(self, kind, allowed, contract, model):
        if kind not in allowed:
            raise TypeError(f"the model expects {model} inputs where the contract gives {contract}, and the course "
                            f"grades this practical by the contract's letter ({kind} is not adapted)")
        self.adapted.append({"kind": kind, "contract": contract, "model": model})

    def forward(self, x):
        if self.channels_last:
            x = x.permute(0, *range(2, x.dim()), 1)
        x = x.to(device=self.device, dtype=self.dtype if self.cast else x.dtype)
        return self.model(x, training=False) if self.keras else self.model(x)


def _model_device_dtype(model, contract_dtype):
    parameters = list(model.parameters()) if isinstance(model, torch.nn.Module) else []
    floating = [p for p in parameters if p.dtype.is_floating_point]
    device = parameters[0].device if parameters else torch.device("cpu")
    dtype = floating[0].dtype if floating else getattr(torch, contract_dtype, torch.float32)
    if not contract_dtype.startswith("float"):
        dtype = getattr(torch, contract_dtype)
    return device, dtype


def _export_one(contract, shape, dtype):
    """One program for ``shape``, its batch dimension left dynamic when the model allows it."""
    example = torch.zeros(shape, dtype=getattr(torch, dtype))
    dynamic = {"x": {0: torch.export.Dim.AUTO}} if shape[0] > 1 else None
    # not under no_grad: that would put grad-mode switches (no aten ops) into the graph
    return torch.export.export(contract, (example,), dynamic_shapes=dynamic, strict=False)


def _serves(program, shape):
    """Whether ``program`` takes a batch of ``shape`` (its batch dimension dynamic, or equal)."""
    placeholders = [n for n in program.graph.nodes if n.op == "placeholder"]
    user = [spec.arg.name for spec in program.graph_signature.input_specs if spec.kind.name == "USER_INPUT"]
    node = next((n for n in placeholders if n.name in user), None)
    if node is None or "val" not in node.meta:
        return False
    dims = list(node.meta["val"].shape)
    if len(dims) != len(shape):
        return False
    for dim, size in zip(dims, shape):
        if isinstance(dim, int):
            if dim != size:
                return False
        elif size < 2:   # a dynamic dimension is specialised for sizes 0 and 1
            return False
    return True


def _write_program_file(path, programs, contract):
    """One .npz of plain arrays: the manifest and each graph as UTF-8 bytes, every tensor as an array."""
    # start-up: torch's serialiser only when a program is exported
    from torch._export.serde.serialize import serialize

    arrays, manifest = {}, {"format": EXPORT_FORMAT, "programs": []}
    for number, program in enumerate(programs):
        graph_key = f"g{number}"
        arrays[graph_key] = np.frombuffer(serialize(program).exported_program, dtype=np.uint8)
        entry = {"graph": graph_key, "state_dict": {}, "constants": {}}
        for table, tensors in (("state_dict", program.state_dict), ("constants", program.constants)):
            for tensor_name, tensor in tensors.items():
                if not isinstance(tensor, torch.Tensor):
                    raise TypeError(f"the program holds a {type(tensor).__name__} constant, not a tensor")
                key = f"t{len(arrays)}"
                arrays[key], dtype = _plain_array(tensor)
                entry[table][tensor_name] = {"key": key, "dtype": dtype,
                                             "parameter": isinstance(tensor, torch.nn.Parameter)}
        manifest["programs"].append(entry)
    arrays["manifest"] = np.frombuffer(json.dumps(manifest).encode("utf-8"), dtype=np.uint8)
    if sum(a.nbytes for a in arrays.values()) > MAX_PROGRAM_BYTES:
        raise ValueError(f"the exported model is larger than {MAX_PROGRAM_BYTES >> 20} MB")
    tmp = path + ".tmp"
    with builtins.open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    os.replace(tmp, path)


def _plain_array(tensor):
    """A tensor as a numpy array and the torch dtype's name; bfloat16 travels as its 16 bits."""
    tensor = tensor.detach().to("cpu").contiguous()
    dtype = str(tensor.dtype).replace("torch.", "")
    if tensor.dtype == torch.bfloat16:
        return tensor.view(torch.int16).numpy().view(np.uint16).copy(), dtype
    if tensor.dtype in (torch.complex64, torch.complex128) or tensor.is_quantized:
        raise TypeError(f"the program holds a {dtype} tensor")
    return tensor.numpy().copy(), dtype
