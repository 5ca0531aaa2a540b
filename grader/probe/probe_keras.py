# The probe's Keras 3 part: how a Keras object is recognised, called and introspected.
#
# Not a module of its own: grader.probe.probe_source appends this file to probe.py, and the kernel runs
# the two as one file in one namespace (hash-checked as a whole). Names used here and defined there
# (np, torch, keras, MAX_LISTED, _carries_graph, _tensors_in, _influencing, _unreached) are probe.py's;
# names defined here and used there (_is_keras, _keras_notebook, _call_keras_model, _introspect_keras,
# _keras_numpy, _contract_layout, _Nothing) are found at call time, as for any function of one file.
# ruff: noqa: F821


def _is_keras(obj, module, name):
    """``obj`` is an instance of keras.<module>.<name> (never true in a notebook without Keras 3)."""
    try:
        return keras is not None and isinstance(obj, getattr(getattr(keras, module), name))
    except Exception:
        return False


def _keras_notebook(ns, torch_too=False):
    """A Keras notebook: Keras is loaded, the namespace holds Keras (the module or a model), and
    nothing of torch (a module, or a torch model that is no Keras layer): its functions get numpy.
    ``torch_too``: one that follows the Keras edition, torch or not (a torch.load in a Keras notebook):
    its answers are read in the Keras edition's layouts, as the edition note tells its author."""
    if keras is None:
        return False
    uses_keras = uses_torch = False
    for value in list(ns.values()):
        try:
            name = value.__name__ if isinstance(value, type(sys)) else ""
            uses_keras |= name == "keras" or name.startswith("keras.") or _is_keras(value, "layers", "Layer")
            uses_torch |= name == "torch" or name.startswith("torch.") or (
                torch is not None and isinstance(value, torch.nn.Module) and not _is_keras(value, "layers", "Layer"))
        except Exception:
            continue
    return uses_keras and (torch_too or not uses_torch)


def _keras_input(model, array, layout):
    """The contract's channels-first batch as the Keras model takes it: channels last when the
    assignment says so (``keras_layout`` "NHWC"), unless the model's own input is declared channels-first."""
    array = array.copy()
    if array.dtype.kind == "f":
        array = array.astype(np.float32)
    if layout != "NHWC" or array.ndim < 3:
        return array
    return array if _keras_input_channels_first(model, array.shape) else np.moveaxis(array, 1, -1).copy()


def _keras_input_channels_first(model, shape):
    """Whether the model's own declared Input takes the contract's channels-first ``shape`` as it is."""
    try:
        declared = tuple(model.inputs[0].shape)[1:]
    except Exception:    # a subclassed model has no declared input: the assignment's layout it is
        return False
    return len(declared) == len(shape) - 1 and all(d is None or int(d) == n for d, n in zip(declared, shape[1:]))


def _contract_layout(output, layout):
    """A Keras answer given channels last ("HWC", "NHWC": the Keras edition's layout) in the contract's
    channels-first one; an answer of another rank stays as it is, for the check to judge, and so does one
    already channels first (its last axis longer than its first spatial one: [3, 224, 224] is the PyTorch
    edition's layout, judged as such rather than turned into a puzzling [224, 3, 224])."""
    array = _numeric(output) if layout in ("HWC", "NHWC") else None
    if array is None or array.ndim != len(layout):
        return output
    first = len(layout) - 3
    if array.shape[-1] > array.shape[first]:
        return output
    return np.ascontiguousarray(np.moveaxis(array, -1, first))


def _call_keras_model(model, array, batch_size, layout):
    """A Keras model in inference mode, batch by batch, on numpy input; outputs as numpy."""
    array = _keras_input(model, array, layout)
    outputs = []
    with (torch.no_grad() if torch is not None else _Nothing()):
        for start in range(0, len(array), batch_size):
            outputs.append(_keras_numpy(model(array[start:start + batch_size], training=False)))
    if not outputs:
        raise ValueError("no inputs")
    return np.concatenate(outputs, axis=0)


class _Nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _keras_numpy(value):
    if _is_tensor(value) or isinstance(value, (tuple, list, dict)):
        return _to_numpy(value)
    return _to_numpy(np.asarray(value))   # a jax or tensorflow array


def _keras_layers(model):
    layers = getattr(model, "_flatten_layers", None)
    return [l for l in layers(include_self=False, recursive=True)] if layers else []


def _introspect_keras(model, inputs=None, layout=None):
    """A Keras model's layer types and weight shapes; with ``inputs``, the layers one inference pass
    ran (each layer's call recorded, then restored) whose weights the output depends on."""
    layers, weights = _keras_layers(model), list(model.weights)
    found = {"modules": [type(model).__name__] + [type(l).__name__ for l in layers][:MAX_LISTED],
             "parameters": int(sum(int(np.prod(tuple(w.shape))) for w in weights)),
             "shapes": [[int(n) for n in w.shape] for w in weights][:MAX_LISTED]}
    if inputs is None:
        return found
    ran, graph = [], []
    for layer in layers:
        def record(*args, _layer=layer, _call=layer.call, **kwargs):
            ran.append(_layer)
            result = _call(*args, **kwargs)
            graph.append(_carries_graph(result))
            return result
        object.__setattr__(layer, "call", record)
    try:
        with (torch.enable_grad() if torch is not None else _Nothing()):
            output = model(_keras_input(model, inputs.array, layout), training=False)
            trainable = [w for w in model.trainable_weights if _is_tensor(getattr(w, "value", None))]
            tensors = [t for t in _tensors_in(output) if t.requires_grad and t.is_floating_point()]
            reached = _unreached(output, any(graph))
            if tensors and trainable:
                values = {id(w.value): id(w) for w in trainable}
                reached = {values[i] for i in _influencing(tensors, [w.value for w in trainable])}
    finally:
        for layer in layers:
            layer.__dict__.pop("call", None)

    def reaches(ws):
        ws = [w for w in ws if getattr(w, "trainable", False)]
        return reached is None or not ws or any(id(w) in reached for w in ws)

    ran_ids = {id(l) for l in ran}
    used = [l for l in layers if id(l) in ran_ids and reaches(l.weights)]
    found["ran"] = sorted({type(l).__name__ for l in used})[:MAX_LISTED]
    found["used_shapes"] = [[int(n) for n in w.shape] for w in weights if reaches([w])][:MAX_LISTED]
    return found
