# The probe's PyTorch introspection part: what a model is made of and what one forward pass really used.
#
# Not a module of its own: grader.probe.probe_source appends this file to probe.py (after probe_keras.py), and
# the kernel runs the parts as one file in one namespace (hash-checked as a whole). Names used here and
# defined in the other parts (np, torch, MAX_LISTED, _Array, _keras_numpy, ...) are found at call time, as for
# any function of one file; _introspect, _used_in_forward, _influencing, _tensors_in, _carries_graph,
# _unreached and _parts are used there.
# ruff: noqa: F821



def _introspect(obj, inputs=None):
    """Module types and parameter shapes; with ``inputs``, also what one forward pass really used."""
    if torch is None or not isinstance(obj, torch.nn.Module):
        raise TypeError(f"expected a torch.nn.Module, got {type(obj).__name__}")
    parameters = list(obj.parameters())
    found = {"modules": [type(m).__name__ for m in obj.modules()][:MAX_LISTED],
             "parameters": int(sum(p.numel() for p in parameters)),
             "shapes": [[int(n) for n in p.shape] for p in parameters][:MAX_LISTED]}
    if inputs is not None:
        found.update(_used_in_forward(obj, inputs.array))
    return found


def _used_in_forward(model, array):
    """Which modules ran in one forward pass and reached the output, and the shapes of the parameters
    the output depends on. A layer defined in __init__ but never called in forward (or whose result is
    thrown away) is absent; a kernel used through F.conv2d shows as a used 4-D parameter. Gradients
    go through torch.autograd.grad, so the model's own .grad fields are left untouched."""
    ran, graph = [], []

    def record(module, _inputs, output):
        ran.append(module)
        graph.append(_carries_graph(output))

    hooks = [m.register_forward_hook(record) for m in model.modules() if m is not model]
    first = next(iter(model.parameters()), None)
    device = first.device if first is not None else torch.device("cpu")
    dtype = first.dtype if first is not None and first.dtype.is_floating_point else torch.float32
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            output = model(torch.from_numpy(array.copy()).to(device=device, dtype=dtype))
            reached = _reached(model, output, any(graph))
    finally:
        for hook in hooks:
            hook.remove()
        if was_training:
            model.train()
    ran_ids = {id(m) for m in ran}
    used = [m for m in model.modules() if id(m) in ran_ids and _reaches(m.parameters(recurse=False), reached)]
    shapes = [[int(n) for n in p.shape] for p in model.parameters() if _reaches([p], reached)]
    return {"ran": sorted({type(m).__name__ for m in used})[:MAX_LISTED], "used_shapes": shapes[:MAX_LISTED]}


def _reaches(parameters, reached):
    """Frozen parameters (no gradient to follow) and parameter-free modules count by having run."""
    trainable = [p for p in parameters if p.requires_grad]
    return reached is None or not trainable or any(id(p) in reached for p in trainable)


def _reached(model, output, layers_built_graph):
    """ids of the parameters the output depends on (None: every module that ran counts, see _unreached)."""
    tensors = [t for t in _tensors_in(output) if t.requires_grad and t.is_floating_point()]
    parameters = [p for p in model.parameters() if p.requires_grad]
    if not parameters:
        return None
    if not tensors:
        return _unreached(output, layers_built_graph)
    return _influencing(tensors, parameters)


def _influencing(tensors, parameters):
    """ids of the parameters the output really depends on: a gradient that exists and is not all zero
    under a fixed random weighting of the output (a plain sum would be flat for softmax rows; being in
    the graph alone would count a layer whose result is multiplied by 0)."""
    weights = torch.Generator().manual_seed(0)
    total = sum((t.float() * torch.randn(t.shape, generator=weights).to(t.device)).sum() for t in tensors)
    grads = torch.autograd.grad(total, parameters, allow_unused=True)
    return {id(p) for p, g in zip(parameters, grads) if g is not None and bool(torch.any(g != 0))}


def _parts(output, limit=1000):
    """Everything inside an output, nested tuples, lists and dict values included (a model that answers
    {"logits": t} has its graph in t), at most ``limit`` parts."""
    parts, todo = [], [output]
    while todo and len(parts) < limit:
        value = todo.pop()
        parts.append(value)
        if isinstance(value, (tuple, list)):
            todo.extend(value)
        elif isinstance(value, dict):
            todo.extend(value.values())
    return parts


def _tensors_in(output):
    return [part for part in _parts(output) if _is_tensor(part)]


def _carries_graph(output):
    return any(t.requires_grad for t in _tensors_in(output))


def _unreached(output, layers_built_graph):
    """What reaches an output that carries no graph: None (every layer that ran counts) when the whole pass
    built none (forward under no_grad: nothing to follow); nothing (an empty set) when the layers built one
    and the answer is cut off from it (a constant, a detached copy, numbers from elsewhere), or is no
    numbers at all."""
    return None if _holds_numbers(output) and not layers_built_graph else set()


def _holds_numbers(output):
    """Whether any numbers are in the output: an answer of text (or None) depends on no layer at all."""
    return any(_is_tensor(part) or isinstance(part, (np.ndarray, np.generic, float))
               or (isinstance(part, int) and not isinstance(part, bool)) for part in _parts(output))
