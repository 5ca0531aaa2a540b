"""Writes assignments/rnn_text/template_keras.ipynb and solution_keras.ipynb from the PyTorch template:
the same cells, the same parameters cell and contract, Keras 3 code written as Chollet's "Deep Learning
with Python" writes a character model (functional API, Embedding -> GRU(return_sequences=True) -> Dense,
compile/fit). Run it again after editing the PyTorch template; it fails loudly when a cell it rewrites
is no longer where it was."""
from __future__ import annotations

import copy
from pathlib import Path

import nbformat

FOLDER = Path(__file__).resolve().parents[1] / "assignments" / "rnn_text"

# The contract's lines that say "torch": the Keras wording beside them (es, then en).
INTRO = [
    ("Práctica 3 · Generación de texto con una RNN de caracteres / Practical 3 · Text generation with a character RNN",
     "Práctica 3 · Generación de texto con una RNN de caracteres, edición Keras / "
     "Practical 3 · Text generation with a character RNN, Keras edition"),
    ("- `model`: un `nn.Module` que recibe ids `int64 [N, T]` y devuelve logits `[N, T, V]` (V = tamaño del\n"
     "  vocabulario): los logits de la posición `t` predicen el carácter `t + 1`.",
     "- `model`: un `keras.Model` (API funcional o `Sequential`) que recibe ids `int64 [N, T]` (cualquier `T`) y\n"
     "  devuelve logits `[N, T, V]` (V = tamaño del vocabulario, sin softmax): los logits de la posición `t` predicen\n"
     "  el carácter `t + 1`."),
    ("recibe un tensor 1-D de `V` logits", "recibe un array de numpy 1-D de `V` logits"),
    ("- `model`: an `nn.Module` taking `int64 [N, T]` ids and returning `[N, T, V]` logits (V = the vocabulary size): the\n"
     "  logits at position `t` predict character `t + 1`.",
     "- `model`: a `keras.Model` (functional API or `Sequential`) taking `int64 [N, T]` ids (any `T`) and returning\n"
     "  `[N, T, V]` logits (V = the vocabulary size, no softmax): the logits at position `t` predict character `t + 1`."),
    ("takes a 1-D tensor of `V` logits", "takes a 1-D numpy array of `V` logits"),
]
KERAS_NOTE = (
    "\n\n**Keras.** Keras 3 corre aquí sobre PyTorch (`KERAS_BACKEND=torch`, el corrector lo fija). El corrector llama a "
    "`model(ids, training=False)` con arrays de numpy de ids enteros y a tus funciones con arrays de numpy; las "
    "comprobaciones y los puntos son los de la edición PyTorch. "
    "Keras 3 runs here on PyTorch (`KERAS_BACKEND=torch`, set by the grader). The grader calls "
    "`model(ids, training=False)` with numpy arrays of integer ids and your functions with numpy arrays; the checks "
    "and points are those of the PyTorch edition.")

IMPORTS = '''import math
import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")   # the grader's kernels run Keras 3 on PyTorch
import keras
import matplotlib.pyplot as plt
import numpy as np
from keras import layers'''
SETUP = '''keras.utils.set_random_seed(seed)   # Python, numpy and the backend at once
# device = "auto": Keras places the model on a GPU when there is one, else on the CPU
print("backend:", keras.backend.backend(), "device:", device)'''
DECODE_DOC = ('    """Ids (a list or a tensor) -> text."""', '    """Ids (a list or a numpy array) -> text."""')
DATA = '''data = np.array(encode(text), dtype="int64")
n_val = len(data) // 10            # our own validation part: the last 10 % of train.txt
train_data, val_data = data[:-n_val], data[-n_val:]
rng = np.random.default_rng(seed)


def random_windows(source, count):
    """`count` random windows of seq_len ids and the same windows shifted by one (the targets)."""
    starts = rng.integers(0, len(source) - seq_len - 1, size=count)
    x = np.stack([source[s:s + seq_len] for s in starts])
    y = np.stack([source[s + 1:s + seq_len + 1] for s in starts])
    return x, y


# `steps` batches of `batch_size` windows: one epoch of model.fit over them is exactly `steps` optimiser steps
x_train, y_train = random_windows(train_data, steps * batch_size)
print("training windows:", x_train.shape)'''
MODEL_MD = ("## 2. Modelo / Model\n\nEntrada ids `int64 [N, T]` (cualquier `T`), salida logits `[N, T, V]`: un "
            "`keras.Model` con `layers.Embedding`, una capa recurrente con `return_sequences=True` (una salida por "
            "posición) y `layers.Dense(V)` sin activación.\n"
            "Input `int64 [N, T]` ids (any `T`), output `[N, T, V]` logits: a `keras.Model` with `layers.Embedding`, "
            "a recurrent layer with `return_sequences=True` (one output per position) and `layers.Dense(V)` without "
            "activation.")
MODEL_T = '''inputs = keras.Input(shape=(None,), dtype="int64")       # ids [N, T], any T
# TODO: layers.Embedding(vocab_size, 64), a recurrent layer (layers.LSTM or layers.GRU with hidden_size units and
# return_sequences=True) and layers.Dense(vocab_size) (logits, no softmax), ending in `outputs`
raise NotImplementedError
model = keras.Model(inputs, outputs)
model.summary()'''
MODEL = '''inputs = keras.Input(shape=(None,), dtype="int64")       # ids [N, T], any T
x = layers.Embedding(input_dim=vocab_size, output_dim=64)(inputs)
x = layers.GRU(hidden_size, return_sequences=True)(x)    # one output per position, not only the last
outputs = layers.Dense(vocab_size)(x)                    # logits: the loss applies the softmax
model = keras.Model(inputs, outputs)
model.summary()'''
SAMPLE_T = '''def sample(logits, temperature=1.0):
    """One index drawn from softmax(logits / temperature); logits: a 1-D numpy array of V values."""
    # TODO
    raise NotImplementedError


print([sample(np.array([2.0, 1.0, 0.1]), 1.0) for _ in range(10)])'''
SAMPLE = '''def sample(logits, temperature=1.0):
    """One index drawn from softmax(logits / temperature); logits: a 1-D numpy array of V values."""
    logits = np.asarray(logits, dtype="float64").reshape(-1) / temperature
    probs = np.exp(logits - logits.max())      # the largest logit becomes 0: no overflow at low temperature
    probs /= probs.sum()
    return int(np.random.choice(len(probs), p=probs))


print([sample(np.array([2.0, 1.0, 0.1]), 1.0) for _ in range(10)])'''
# Keras logs the epoch's running mean at every batch: the curve is that mean, which the labels say.
TRAIN_HEAD = '''history = {"loss": []}   # the mean training loss so far, after every optimiser step
record_loss = keras.callbacks.LambdaCallback(
    on_train_batch_end=lambda batch, logs: history["loss"].append(float(logs["loss"])))'''
TRAIN_T = TRAIN_HEAD + '''
# TODO: compile `model` (an optimizer, gradient clipping helps, and
# keras.losses.SparseCategoricalCrossentropy(from_logits=True)), then one epoch of model.fit over
# (x_train, y_train) with batch_size=batch_size (exactly `steps` steps) and callbacks=[record_loss]
raise NotImplementedError'''
TRAIN = TRAIN_HEAD + '''
model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-2, clipnorm=1.0),   # clipped: RNN gradients burst
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
model.fit(x_train, y_train, batch_size=batch_size, epochs=1, shuffle=False, callbacks=[record_loss], verbose=2)'''
PLOT = '''fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(range(1, len(history["loss"]) + 1), history["loss"])
ax.set(xlabel="step", ylabel="mean cross-entropy so far", title="Training loss (nats/char)")
fig.tight_layout()
plt.show()'''
VALIDATION = '''def validation_loss(windows=64):
    """Mean cross-entropy per character on consecutive windows of our validation part."""
    usable = (len(val_data) - 1) // seq_len
    starts = [i * seq_len for i in range(min(windows, usable))]
    x = np.stack([val_data[s:s + seq_len] for s in starts])
    y = np.stack([val_data[s + 1:s + seq_len + 1] for s in starts])
    return model.evaluate(x, y, batch_size=batch_size, verbose=0)


print(f"Validation cross-entropy: {validation_loss():.4f} nats/char (uniform: {math.log(vocab_size):.4f})")'''
GENERATE_DEMO = '''


for t in (0.05, 1.0, 2.0):
    print(f"--- temperature {t}")
    print(generate("ROMEO:", 150, t))'''
GENERATE_T = '''def generate(prompt, length, temperature=1.0):
    """The prompt followed by `length` characters, each drawn with `sample` from the model's last logits."""
    # TODO: model.predict_on_batch on the [1, T] int64 ids of the text so far (numpy logits [1, T, V]),
    # `sample` the next id from the last position's logits, append it, repeat
    raise NotImplementedError''' + GENERATE_DEMO
GENERATE = '''def generate(prompt, length, temperature=1.0):
    """The prompt followed by `length` characters, each drawn with `sample` from the model's last logits."""
    ids = encode(prompt)
    out = prompt
    for _ in range(length):
        # the whole text so far as one [1, T] batch: predict_on_batch skips predict's per-call set-up
        logits = model.predict_on_batch(np.array([ids], dtype="int64"))
        next_id = sample(logits[0, -1], temperature)
        ids.append(next_id)
        out += itos[next_id]
    return out''' + GENERATE_DEMO

# cell index in the PyTorch template -> (what it must start with there, the template's code, the solution's)
CELLS = {
    1: ("import math", IMPORTS, IMPORTS),
    3: ('if device == "auto"', SETUP, SETUP),
    7: ("data = torch.tensor", DATA, DATA),
    8: ("## 2. Modelo", MODEL_MD, MODEL_MD),
    9: ("class CharRNN", MODEL_T, MODEL),
    11: ("def sample", SAMPLE_T, SAMPLE),
    13: ("optimizer = torch.optim.Adam", TRAIN_T, TRAIN),
    14: ("fig, ax = plt.subplots", PLOT, PLOT),
    15: ("@torch.no_grad()\ndef validation_loss", VALIDATION, VALIDATION),
    17: ("@torch.no_grad()\ndef generate", GENERATE_T, GENERATE),
}
ENCODE_CELL = 6


def _replace(text: str, old: str, new: str) -> str:
    if text.count(old) != 1:
        raise SystemExit(f"the PyTorch template changed: {old[:60]!r} found {text.count(old)} times")
    return text.replace(old, new)


def build(template: nbformat.NotebookNode, solution: bool) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(copy.deepcopy(template))
    intro = nb.cells[0].source
    for old, new in INTRO:
        intro = _replace(intro, old, new)
    nb.cells[0].source = intro + KERAS_NOTE
    for index, (start, template_code, solution_code) in CELLS.items():
        if not nb.cells[index].source.startswith(start):
            raise SystemExit(f"the PyTorch template changed: cell {index} no longer starts with {start!r}")
        nb.cells[index].source = solution_code if solution else template_code
    nb.cells[ENCODE_CELL].source = _replace(nb.cells[ENCODE_CELL].source, *DECODE_DOC)
    if solution:   # the PyTorch solution's encode/decode are plain Python: the same in both editions
        nb.cells[ENCODE_CELL].source = _replace(
            nbformat.read(FOLDER / "solution.ipynb", as_version=4).cells[ENCODE_CELL].source, *DECODE_DOC)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if "torch" in cell.source.replace("KERAS_BACKEND=torch", "").replace('"KERAS_BACKEND", "torch"', ""):
            raise SystemExit(f"a cell of the Keras edition still mentions torch:\n{cell.source[:200]}")
    return nb


def main() -> None:
    template = nbformat.read(FOLDER / "template.ipynb", as_version=4)
    nbformat.write(build(template, solution=False), FOLDER / "template_keras.ipynb")
    nbformat.write(build(template, solution=True), FOLDER / "solution_keras.ipynb")


if __name__ == "__main__":
    main()
