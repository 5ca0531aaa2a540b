"""Broken and hostile submissions as small builders: each returns the bytes a student would hand in.

Used by tests/test_hostile*.py. The "toy" practical they target defines one function, ``square``;
a correct notebook computes ``x ** 2``. Nothing here runs anything: the tests run the grader on them.
"""
from __future__ import annotations

import json
import textwrap

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

from grader.execution.docker_mounts import OUT as DOCKER_OUT

PRACTICAL = "toy"
CORRECT = "def square(x):\n    return x ** 2"
WRONG = "def square(x):\n    return x + 1"

# out/ as a notebook finds it (no variable says where it is): the docker runner's volume, else the local runner's
# folder beside its working folder. An attack that missed it would pass its test for nothing.
OUT_DIR = (f'(lambda inside: inside if os.path.isdir(inside) else os.path.join(os.path.dirname(os.getcwd()), "out"))'
           f'({DOCKER_OUT!r})')



def notebook(*sources: str, executed: bool = True, order: list[int] | None = None, metadata: dict | None = None,
             parameters: bool = True) -> bytes:
    """A v4 notebook; ``executed``: numbered as "Run All" leaves it (``order`` gives other numbers)."""
    cells = []
    if parameters:
        cell = new_code_cell("seed = 0")
        cell.metadata["tags"] = ["parameters"]
        cells.append(cell)
    cells += [new_code_cell(textwrap.dedent(s).strip("\n")) for s in sources]
    if executed:
        counts = order or list(range(1, len(cells) + 1))
        for cell, count in zip(cells, counts):
            cell.execution_count = count
            cell.outputs = [new_output("stream", name="stdout", text="(output as run)\n")]   # as run
    nb = new_notebook(cells=cells)
    nb.metadata.update(metadata or {})
    return nbformat.writes(nb).encode("utf-8")


# --- broken files --------------------------------------------------------------------------------

def empty_file() -> bytes:
    return b""


def not_json() -> bytes:
    return b"{ this is not json at all"


def json_not_notebook() -> bytes:
    return json.dumps({"hello": "world", "cells": "none"}).encode()


def pdf_instead() -> bytes:
    return b"%PDF-1.4\n% a report instead of the notebook\n"


def python_script_instead() -> bytes:
    return CORRECT.encode() + b"\n"


def non_utf8() -> bytes:
    return notebook(CORRECT).replace(b"return x ** 2", b"return x ** 2  # \xe9t\xe9 latin-1")


def nbformat3(correct: bool = True) -> bytes:
    """A notebook as IPython 2 saved it: worksheets, "input", "prompt_number"."""
    cells = [{"cell_type": "code", "language": "python", "input": ["seed = 0"], "metadata": {},
              "outputs": [], "prompt_number": 1, "collapsed": False},
             {"cell_type": "code", "language": "python", "input": (CORRECT if correct else WRONG).splitlines(True),
              "metadata": {}, "outputs": [], "prompt_number": 2, "collapsed": False}]
    return json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": "old"},
                       "worksheets": [{"cells": cells, "metadata": {}}]}).encode()


def huge_output(megabytes: int = 50) -> bytes:
    """A correct notebook whose handed-in outputs hold ``megabytes`` MB of printed text."""
    nb = nbformat.reads(notebook(CORRECT, "print('x' * 10)").decode(), as_version=4)
    nb.cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * (megabytes << 20))]
    return nbformat.writes(nb).encode("utf-8")


def never_executed() -> bytes:
    return notebook(CORRECT, executed=False)


def out_of_order() -> bytes:
    return notebook(CORRECT, "y = square(3)", order=[1, 5, 2])


def cell_raises() -> bytes:
    return notebook(CORRECT, "raise ValueError('student bug')", "z = 1")


def other_practical() -> bytes:
    """The RNN practical's notebook handed in to this one: runs, but defines nothing asked here."""
    return notebook("def generate(prompt):\n    return prompt + '...'", metadata={"grader": {"practical": "rnn_text"}})


# --- Colab habits, handled -----------------------------------------------------------------------

def colab_habits() -> bytes:
    return notebook("!pip install -q torchsummary-not-on-any-index",
                    "from google.colab import drive\ndrive.mount('/content/drive')",
                    "%matplotlib inline\nimport sys, warnings\nwarnings.warn('deprecated thing')\n"
                    "print('UserWarning: noise on stderr', file=sys.stderr)",
                    "from tqdm import tqdm\nfor _ in tqdm(range(1000)):\n    pass",
                    CORRECT, metadata={"colab": {"provenance": []}})


# --- hostile -------------------------------------------------------------------------------------

def endless_loop() -> bytes:
    return notebook(CORRECT, "while True:\n    pass")


def printing_forever() -> bytes:
    # a little pause per line: the flood is endless, yet the test machine keeps its memory
    return notebook(CORRECT, "import time\nwhile True:\n    print('spam ' * 20)\n    time.sleep(0.001)")


def os_exit() -> bytes:
    return notebook(CORRECT, "import os\nos._exit(0)", "after = 1")


def sys_exit() -> bytes:
    return notebook("import sys\nsys.exit()", CORRECT)


def kill_own_kernel() -> bytes:
    return notebook(CORRECT, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")


# Reads this run's real nonce from the scratch copy the runner executes, and plants answers that
# would pass: status.json claiming success and the right outputs for the inputs it finds.
_PLANT = '''
import glob, json, os, re
import numpy as np
text = open("notebook.ipynb", encoding="utf-8").read()
# no variable names the grader's folders: the probe cell of the copy being run does
probe = re.findall(r"probe_dir='([^']+)'", text)[-1]
out = re.findall(r"out_dir='([^']+)'", text)[-1]
nonce = re.findall(r"nonce='([0-9a-f]+)'", text)
nonce = nonce[-1] if nonce else "0" * 32
spec = json.load(open(os.path.join(probe, "spec.json")))
items = {}
for item in spec["items"]:
    args = [np.load(os.path.join(probe, a["npy"])) for a in item.get("args", []) if "npy" in a]
    np.save(os.path.join(out, item["item"] + ".npy"), args[0] ** 2 if args else np.zeros(1))
    items[item["item"]] = {"status": "ok", "ok": True, "error": None, "shape": None, "dtype": None}
json.dump({"protocol": 2, "nonce": nonce, "items": items}, open(os.path.join(out, "status.json"), "w"))
planted = sorted(os.listdir(out))
'''


def plant_then_kill_kernel() -> bytes:
    """A wrong square; right-looking answers planted in out/; the kernel killed before the probe runs."""
    return notebook(WRONG, _PLANT, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")


def plant_and_sabotage_probe() -> bytes:
    """A wrong square; a status.json with a guessed nonce planted, and os.remove/os.replace disabled so
    that the probe can neither remove it nor put its own in place."""
    return notebook(WRONG, '''
        import json, os
        out = ''' + OUT_DIR + '''
        json.dump({"protocol": 2, "nonce": "f" * 32, "items": {}}, open(os.path.join(out, "status.json"), "w"))
        os.remove = lambda *a, **k: None
        os.replace = lambda *a, **k: None
        os.unlink = lambda *a, **k: None
    ''')


def monkeypatch_numpy_torch() -> bytes:
    """A wrong square, and every comparison numpy and torch offer made to say "equal"."""
    return notebook(WRONG, '''
        import numpy as np, torch
        always = lambda *a, **k: True
        np.isclose = lambda a, b, *x, **k: np.ones(np.shape(a), dtype=bool)
        np.allclose = np.array_equal = np.testing.assert_allclose = always
        torch.allclose = torch.equal = always
        torch.testing.assert_close = always
        torch.Tensor.__eq__ = lambda self, other: torch.ones_like(self, dtype=torch.bool)
    ''')


def overwrite_probe_outputs() -> bytes:
    """A wrong square, and a thread that keeps rewriting the probe's answers after it has written them."""
    return notebook(WRONG, '''
        import json, os, threading, time
        import numpy as np
        out = ''' + OUT_DIR + '''
        def forge():
            while True:
                try:
                    status = json.load(open(os.path.join(out, "status.json")))
                except Exception:
                    time.sleep(0.01)
                    continue
                for item in status.get("items", {}):
                    np.save(os.path.join(out, item + ".npy"), np.zeros(3))
                time.sleep(0.01)
        threading.Thread(target=forge, daemon=True).start()
    ''')


def write_outside_scratch(marker: str) -> bytes:
    """Tries to leave a file where the host would keep it; records what each attempt did."""
    return notebook(CORRECT, f'''
        import json, os
        results = {{}}
        for target in ["/work/{marker}", "/data/{marker}", "/probe/{marker}", "/{marker}", "/etc/{marker}",
                       os.path.expanduser("~/{marker}"), "/tmp/{marker}"]:
            try:
                with open(target, "w") as fh:
                    fh.write("x")
                results[target] = "written"
            except OSError as err:
                results[target] = type(err).__name__
        json.dump(results, open(os.path.join({OUT_DIR}, "seen.json"), "w"))
    ''')


def read_host(paths: list[str]) -> bytes:
    return notebook(CORRECT, f'''
        import json, os
        seen = {{p: os.path.exists(p) for p in {paths!r}}}
        seen["listing"] = sorted(os.listdir("/work"))
        json.dump(seen, open(os.path.join({OUT_DIR}, "seen.json"), "w"))
    ''')


def fill_disk() -> bytes:
    return notebook(CORRECT, '''
        chunk = b"x" * (1 << 20)
        with open("big.bin", "wb") as fh:
            while True:
                fh.write(chunk)
    ''', "after = 1")


def memory_hog() -> bytes:
    return notebook(CORRECT, "hog = []\nwhile True:\n    hog.append(bytearray(16 << 20))")


def fork_bomb() -> bytes:
    return notebook(CORRECT, "import os\nwhile True:\n    os.fork()")


def carry_mnist_labels(labels: list[int]) -> bytes:
    """A "model" that ignores its input and answers the public labels in file order, batch after batch."""
    return notebook(f'''
        import numpy as np
        LABELS = np.array({labels!r})
        class Model:
            def __init__(self):
                self.seen = 0
            def __call__(self, batch):
                n = len(batch)
                rows = np.zeros((n, 10), dtype=np.float32)
                if n == 8:                  # the shape check's batch: answered without moving on
                    return rows
                index = (self.seen + np.arange(n)) % len(LABELS)
                rows[np.arange(n), LABELS[index]] = 1.0
                self.seen += n
                return rows
        model = Model()
    ''')


def second_parameters_cell() -> bytes:
    """A second cell tagged `parameters` that reads its own value (papermill injects after the first
    tagged cell only); ``square`` is right only when the grading value of ``seed`` (0) wins."""
    nb = nbformat.reads(notebook("def square(x):\n    return x ** 2 if seed == 0 else x + 1").decode(), as_version=4)
    cell = new_code_cell('import os\nseed = int(os.environ.get("GRADER_SEED_OVERRIDE", "3"))')
    cell.metadata["tags"] = ["parameters"]
    nb.cells.insert(1, cell)
    for count, code in enumerate(nb.cells, start=1):
        code.execution_count = count
    return nbformat.writes(nb).encode("utf-8")


def reassign_parameter_later() -> bytes:
    """A correct square, then a later cell that sets its own value of the grading parameter ``seed``."""
    return notebook(CORRECT, 'import os\nseed = int(os.environ.get("GRADER_SEED_OVERRIDE", "3"))')


def forge_status_value(value) -> bytes:
    """A wrong square, and json.dump patched so that the probe's own status.json (this run's nonce
    and all) gives every item the JSON ``value`` instead of its array."""
    return notebook(WRONG, f'''
        import json
        _dump = json.dump
        def _forged(obj, fh, *args, **kwargs):
            if isinstance(obj, dict) and "nonce" in obj:
                for item in obj["items"]:
                    obj["items"][item] = {{"status": "ok", "ok": True, "error": None, "value": {value!r}}}
            return _dump(obj, fh, *args, **kwargs)
        json.dump = _forged
    ''')


# --- notebooks past a reading limit (grader/notebook_limits.py) ----------------------------------

def node_bomb(count: int = 3_000_000) -> bytes:
    """A correct notebook whose first cell's metadata holds ``count`` empty objects: 3 million are 9 MB of
    ``{}``, and were ~4 GB in the grader once parsed."""
    text = notebook(CORRECT).decode()
    head, tail = text.split('"metadata": {', 1)     # the first cell's metadata (cells come first)
    return (head + '"metadata": {"bomb": [' + ",".join(["{}"] * count) + "], " + tail.lstrip()).encode()


def nested_metadata(levels: int) -> bytes:
    """A correct notebook whose first cell's metadata holds lists nested ``levels`` deep."""
    text = notebook(CORRECT).decode()
    head, tail = text.split('"metadata": {', 1)
    return (head + '"metadata": {"deep": ' + "[" * levels + "]" * levels + ", " + tail.lstrip()).encode()


def many_outputs(count: int) -> bytes:
    """A correct notebook whose last cell shows ``count`` outputs (a display() in a loop)."""
    nb = nbformat.reads(notebook(CORRECT, "for i in range(3): print(i)").decode(), as_version=4)
    nb.cells[-1].outputs = [new_output("display_data", data={"text/plain": str(i)}) for i in range(count)]
    return nbformat.writes(nb).encode("utf-8")


# A folder chain deeper than any recursion (1,500 levels of 200-character names: the path outgrows
# PATH_MAX), built through descriptors, with a setuid+setgid file at its bottom; in each folder of
# ``FOLDERS`` (Python expressions). ``chained`` says, per folder, whether both bits held there.
_DEEP_CHAIN = '''
import os, stat
def _chain(folder, depth={depth}):
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth):
        os.mkdir("d" * 200, dir_fd=fd)
        inner = os.open("d" * 200, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = inner
    made = os.open("suid", os.O_CREAT | os.O_WRONLY, 0o6755, dir_fd=fd)
    os.write(made, b"#!/bin/sh\\nid\\n")
    os.fchmod(made, 0o6755)
    bits = os.fstat(made).st_mode & (stat.S_ISUID | stat.S_ISGID)
    os.close(made)
    os.close(fd)
    return bits == stat.S_ISUID | stat.S_ISGID
chained = {{folder: _chain(folder) for folder in [{folders}]}}
'''


def deep_setid_chain_cell(*folders: str, depth: int = 1500) -> str:
    """The cell planting the chain in each folder (Python expressions, e.g. OUT_DIR: where out/ is)."""
    return _DEEP_CHAIN.format(depth=depth, folders=", ".join(folders))


def deep_setid_chain(*folders: str) -> bytes:
    """A correct square, then the deep chain with a setuid+setgid file in each folder."""
    return notebook(CORRECT, deep_setid_chain_cell(*folders))


def setid_in_the_run_folder() -> bytes:
    """A correct square, then (the local runner's notebook being the grader's user) a setuid file and a
    folder planted in the run folder itself, beside the host's own files."""
    return notebook(CORRECT, '''
        import os
        run_folder = os.path.dirname(os.getcwd())
        os.mkdir(os.path.join(run_folder, "stash"))
        fd = os.open(os.path.join(run_folder, "stash", "suid"), os.O_CREAT | os.O_WRONLY, 0o6755)
        os.fchmod(fd, 0o6755)
        os.close(fd)
        fd = os.open(os.path.join(run_folder, "suid"), os.O_CREAT | os.O_WRONLY, 0o6755)
        os.fchmod(fd, 0o6755)
        os.close(fd)
    ''')
