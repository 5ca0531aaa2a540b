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
# taken at import, a loss object): the code object is the same; and every call of a forbidden builtin (the C function
# underneath, "torch._C._nn.cross_entropy_loss"). A module names every function and class defined under it; a class,
# its own methods. What the notebook never loaded is not loaded here.
#
# The hook sees this thread and the threads the function starts through ``threading``. What would put a call out of
# its sight is noted as such: the hook turned off (even for a moment, by a reference to sys.setprofile taken before the
# probe ran, or a sys.setprofile that is not Python's), a thread started behind ``threading``'s back, a process of
# its own. Work handed to a thread or a process that was running before the call (a pool of an earlier cell) is not
# seen.

import importlib
import threading
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
    if isinstance(value, types.BuiltinFunctionType):   # a C function: its calls are matched by the function itself
        return [value]
    if depth == 0 and isinstance(getattr(value, "_op", None), types.BuiltinFunctionType):
        return _operator_builtins(value)
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


def _operator_builtins(packet):
    """A torch.ops operator ("torch.ops.aten.cross_entropy_loss"): the builtin its packet calls, and each of its
    overloads' (``.default``), which are other builtins."""
    found = [packet._op]
    try:
        names = list(packet.overloads())[:50]
    except Exception:
        names = []
    for name in names:
        op = getattr(getattr(packet, name, None), "_op", None)
        if isinstance(op, types.BuiltinFunctionType):
            found.append(op)
    return found


_TURNED_OFF = "(sys.setprofile)"
_OWN_THREAD = "(a thread started without threading)"
_OWN_PROCESS = "(a process of its own)"


def _genuine(module, name):
    """``module.name`` when it is the interpreter's own builtin, else None (the notebook put something in its place)."""
    found = getattr(module, name, None) if module is not None else None
    if isinstance(found, types.BuiltinFunctionType) and found.__self__ is module and found.__name__ == name:
        return found
    return None


def _escapes():
    """The builtins by which a call could leave the hook's sight, and what each is noted as."""
    escapes = {}
    for module, names, noted in (
            (sys, ("setprofile",), _TURNED_OFF),
            (sys.modules.get("_thread"), ("start_new_thread", "start_new", "start_joinable_thread"), _OWN_THREAD),
            (sys.modules.get("posix"), ("fork", "forkpty", "posix_spawn", "posix_spawnp", "system"), _OWN_PROCESS),
            (sys.modules.get("_posixsubprocess"), ("fork_exec",), _OWN_PROCESS)):
        for name in names:
            found = _genuine(module, name)
            if found is not None:
                escapes[found] = noted
    return escapes


class _Watch:
    """Notes the forbidden names whose code runs while it is on (this thread's Python and builtin calls, and those of
    the threads started meanwhile), and what would have put a call out of its sight."""

    def __init__(self, codes):
        self.codes, self.seen, self.on = codes, [], False
        self.escapes = _escapes() if codes else {}
        self.own_start = threading.Thread.start.__code__   # threading's own start: its threads are watched
        self.threads_hook = getattr(threading.setprofile, "__code__", None)   # turning that off is turning it off

    def __call__(self, frame, event, arg):
        if not self.on:
            return
        if event == "call":
            self._note(_TURNED_OFF if frame.f_code is self.threads_hook else self.codes.get(frame.f_code))
        elif event == "c_call":
            name = self.codes.get(arg)
            if name is None:
                name = self.escapes.get(arg)
                # threading's own start, with this hook for its threads: the thread is watched
                if name == _OWN_THREAD and frame.f_code is self.own_start and threading.getprofile() is self:
                    name = None
            self._note(name)

    def _note(self, name):
        if name is not None and name not in self.seen:
            self.seen.append(name)

    def __enter__(self):
        if self.codes:   # nothing forbidden, or nothing of it loaded: no hook, no cost
            self.setprofile, self.getprofile = _genuine(sys, "setprofile"), _genuine(sys, "getprofile")
            if self.setprofile is None or self.getprofile is None:   # not Python's own: what they say is not believed
                self._note(_TURNED_OFF)
                self.codes = {}
                return self
            self.previous, self.previous_threads = self.getprofile(), threading.getprofile()
            self.on = True
            threading.setprofile(self)
            self.setprofile(self)
        return self

    def __exit__(self, *exc):
        if not self.codes:
            return False
        self.on = False   # before the calls below, which the hook would see
        if self.getprofile() is not self:   # the function turned the watch off: what it called went unseen
            self._note(_TURNED_OFF)
        threading.setprofile(self.previous_threads)
        self.setprofile(self.previous)
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
