# The probe's part for how the student's functions are called: what an earlier item hands on, and what a check
# forbids them to call.
#
# Not a module of its own: grader.probe.probe_source appends this file to probe.py (one file, one hash, one
# namespace). Names used here and defined in probe.py: sys, json, np, torch, _numeric, _jsonable, _is_tensor. Names
# defined here and used there: _handed_on, _Watch, _forbidden_codes.
# ruff: noqa: F821
#
# A function check may name library functions its statement forbids (``forbid``: "torch.nn.functional.
# cross_entropy", "keras.losses", ...). While the probe calls the student's function, a profile hook notes every
# Python call into the code of those functions, whatever name the notebook reached them by (an alias, a reference
# taken at import, a loss object): the code object is the same. A module names every function and class defined
# under it; a class, its own methods. What the notebook never loaded is not loaded here.

import importlib
import types

_FORBID_MAX_CODES = 5000


def _forbidden_codes(names):
    """code object -> the forbidden name it belongs to, for the names whose package the kernel has loaded."""
    codes = {}
    for name in names:
        found = _loaded_object(str(name))
        if found is not None:
            for code in _codes_of(found, str(name).split(".")[0]):
                codes.setdefault(code, str(name))
                if len(codes) >= _FORBID_MAX_CODES:
                    return codes
    return codes


def _loaded_object(dotted):
    parts = dotted.split(".")
    if parts[0] not in sys.modules:
        return None
    value = sys.modules[parts[0]]
    for depth, part in enumerate(parts[1:], start=2):
        try:
            value = getattr(value, part)
        except AttributeError:
            try:   # a submodule not bound as an attribute yet (its package is loaded, so this loads no library)
                value = importlib.import_module(".".join(parts[:depth]))
            except Exception:
                return None
        except Exception:
            return None
    return value


def _codes_of(value, top, depth=0):
    code = getattr(getattr(value, "__func__", value), "__code__", None)
    if isinstance(code, types.CodeType):
        return [code]
    found = []
    if isinstance(value, type) and depth < 2:
        for member in list(vars(value).values())[:200]:
            found.extend(_codes_of(member, top, depth + 1))
    elif isinstance(value, types.ModuleType) and depth == 0:
        for member in list(vars(value).values())[:2000]:
            owner = getattr(member, "__module__", None)
            if isinstance(owner, str) and owner.split(".")[0] == top and not isinstance(member, types.ModuleType):
                found.extend(_codes_of(member, top, depth + 1))
    elif isinstance(value, property) and value.fget is not None:
        found.extend(_codes_of(value.fget, top, depth + 1))
    return found


class _Watch:
    """Notes the forbidden names whose code runs while it is on (this thread's Python calls)."""

    def __init__(self, codes):
        self.codes, self.seen = codes, []

    def __call__(self, frame, event, arg):
        if event == "call":
            name = self.codes.get(frame.f_code)
            if name is not None and name not in self.seen:
                self.seen.append(name)

    def __enter__(self):
        if self.codes:   # nothing forbidden, or nothing of it loaded: no hook, no cost
            self.previous = sys.getprofile()
            sys.setprofile(self)
        return self

    def __exit__(self, *exc):
        if not self.codes:
            return False
        if sys.getprofile() is not self:   # the function turned the watch off: what it called went unseen
            self.seen.append("(sys.setprofile)")
        sys.setprofile(self.previous)
        return False


def _handed_on(value):
    """An earlier item's output as a later call gets it (encode's ids to decode): the data the grader saves of it, in
    its own kind (a tensor, an array, a list, a tuple, a JSON value), never the object itself. What an object carries
    beside its data (the text, in an attribute of a list subclass) never reaches the next function."""
    array = _numeric(value)
    if array is None:
        return json.loads(json.dumps(_jsonable(value)))
    array = np.array(array, subok=False)   # a copy, of numpy's own class
    if _is_tensor(value):
        return _on_device_of(value, torch.from_numpy(array))
    if isinstance(value, (np.ndarray, np.generic)):
        return array
    if isinstance(value, (list, tuple)):
        if any(_is_tensor(v) for v in value):      # a stack of tensors: tensors again, one per element
            parts = [_on_device_of(v, torch.from_numpy(np.array(part))) for v, part in zip(value, array)]
        elif any(isinstance(v, np.ndarray) for v in value):
            parts = [np.array(part) for part in array]
        else:
            parts = array.tolist()
        return tuple(parts) if isinstance(value, tuple) else list(parts)
    return array.item() if array.ndim == 0 else array


def _on_device_of(original, tensor):
    """``tensor`` on the device ``original`` came from, when that was a tensor: a GPU notebook's decode may index a
    tensor there."""
    if not _is_tensor(original):
        return tensor
    try:
        return tensor.to(original.device)
    except Exception:
        return tensor
