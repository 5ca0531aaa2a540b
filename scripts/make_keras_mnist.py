"""Writes assignments/mnist_cnn/template_keras.ipynb and solution_keras.ipynb from the PyTorch template
(same cells, same parameters cell, Keras 3 code); run it again after editing the template."""
import copy, nbformat
from pathlib import Path
A = Path(__file__).resolve().parents[1] / "assignments" / "mnist_cnn"
tpl = nbformat.read(A / "template.ipynb", as_version=4)
intro = tpl.cells[0].source
intro_k = (intro
  .replace("Práctica 1 · MNIST con una red convolucional / Practical 1 · MNIST with a CNN",
           "Práctica 1 · MNIST con una red convolucional, edición Keras / Practical 1 · MNIST with a CNN, Keras edition"))
# contract lines, Keras wording
repl = [
 ("- `softmax(logits)`: tensor `[N, C]`", "- `softmax(logits)`: array `[N, C]` (numpy; usa `keras.ops`)"),
 ("**sin** usar `torch.nn.functional.cross_entropy` ni `nn.CrossEntropyLoss`; también estable.",
  "**sin** usar `keras.losses` ni `keras.ops.sparse_categorical_crossentropy`; también estable."),
 ("- `model`: un `nn.Module` que recibe `float32 [N, 1, 28, 28]`", "- `model`: un `keras.Model` (Sequential o funcional) que recibe `float32 [N, 28, 28, 1]` (canales al final)"),
 ("- `history`: un diccionario de listas con un valor por época, p. ej. `{\"loss\": [...], \"accuracy\": [...]}`, y\n  una gráfica de esas curvas.",
  "- `history`: lo que devuelve `model.fit(...)` (su `history.history` tiene `\"loss\"` por época), y una gráfica\n  de esas curvas."),
 ("- `softmax(logits)`: a `[N, C]` tensor", "- `softmax(logits)`: a `[N, C]` array (numpy; use `keras.ops`)"),
 ("**without** `torch.nn.functional.cross_entropy` or `nn.CrossEntropyLoss`; stable as well.",
  "**without** `keras.losses` or `keras.ops.sparse_categorical_crossentropy`; stable too."),
 ("- `model`: an `nn.Module` taking `float32 [N, 1, 28, 28]`", "- `model`: a `keras.Model` (Sequential or functional) taking `float32 [N, 28, 28, 1]` (channels last)"),
 ("- `history`: a dict of lists with one value per epoch, e.g. `{\"loss\": [...], \"accuracy\": [...]}`, and a plot of\n  those curves.",
  "- `history`: what `model.fit(...)` returns (its `history.history` holds `\"loss\"` per epoch), and a plot of those\n  curves."),
 ("no uses `torchvision` ni descargues nada.", "no uses `keras.datasets` ni descargues nada."),
 ("do not use `torchvision` and do not download anything.", "do not use `keras.datasets` and do not download anything."),
]
for a, b in repl:
    if a in intro_k: intro_k = intro_k.replace(a, b)
    else: print("MISSING", a[:60])
intro_k += ("\n\n**Keras.** Keras 3 corre aquí sobre PyTorch (`KERAS_BACKEND=torch`, el corrector lo fija). "
            "Keras 3 runs here on PyTorch (`KERAS_BACKEND=torch`, set by the grader).")

IMPORTS = '''import gzip
import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")   # the grader's kernels run Keras 3 on PyTorch
import keras
import matplotlib.pyplot as plt
import numpy as np
from keras import layers, ops'''
SETUP = '''keras.utils.set_random_seed(seed)   # Python, numpy and the backend at once
# device = "auto": Keras places the model on a GPU when there is one, else on the CPU
print("backend:", keras.backend.backend(), "device:", device)'''
DATA = '''def read_idx(path):
    """The array in a gzipped IDX file (big-endian header: magic, then one uint32 per dimension)."""
    with gzip.open(path, "rb") as fh:
        data = fh.read()
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


images = read_idx(Path(data_dir) / "train-images-idx3-ubyte.gz")
labels = read_idx(Path(data_dir) / "train-labels-idx1-ubyte.gz").astype("int64")

n_test = max(1, len(images) // 10)
x_all = (images.astype("float32") / 255.0)[..., None]   # [N, 28, 28, 1] in [0, 1]: channels last
x_train, y_train = x_all[:-n_test][:train_size], labels[:-n_test][:train_size]
x_test, y_test = x_all[-n_test:], labels[-n_test:]
print("train:", x_train.shape, "test:", x_test.shape)'''
SOFT_T = '''def softmax(logits):
    """Probabilities over axis 1 of [N, C] logits (keras.ops or numpy)."""
    # YOUR CODE HERE
    raise NotImplementedError'''
CE_T = '''def cross_entropy(logits, targets):
    """Mean cross-entropy of [N, C] logits against integer targets [N], without keras.losses."""
    # YOUR CODE HERE
    raise NotImplementedError'''
SOFT = '''def softmax(logits):
    """Probabilities over axis 1 of [N, C] logits (keras.ops or numpy)."""
    logits = ops.convert_to_tensor(logits)
    shifted = logits - ops.max(logits, axis=1, keepdims=True)   # the largest logit becomes 0: no overflow
    exps = ops.exp(shifted)
    return exps / ops.sum(exps, axis=1, keepdims=True)'''
CE = '''def cross_entropy(logits, targets):
    """Mean cross-entropy of [N, C] logits against integer targets [N], without keras.losses."""
    logits = ops.convert_to_tensor(logits)
    targets = ops.convert_to_tensor(targets, dtype="int32")
    shifted = logits - ops.max(logits, axis=1, keepdims=True)
    log_probs = shifted - ops.log(ops.sum(ops.exp(shifted), axis=1, keepdims=True))   # log-softmax, stable
    picked = ops.take_along_axis(log_probs, ops.expand_dims(targets, 1), axis=1)
    return -ops.mean(picked)'''
SELF = '''# A quick self-check against Keras (the grader uses its own inputs).
_logits = np.random.randn(5, 10).astype("float32") * 1000
_targets = np.random.randint(0, 10, size=5)
print(np.allclose(ops.convert_to_numpy(softmax(_logits)), ops.convert_to_numpy(ops.softmax(_logits, axis=1)), atol=1e-6),
      np.allclose(ops.convert_to_numpy(cross_entropy(_logits, _targets)),
                  ops.convert_to_numpy(ops.mean(keras.losses.sparse_categorical_crossentropy(
                      _targets, _logits, from_logits=True))), rtol=1e-4))'''
MODEL_MD = ("## 3. Modelo / Model\n\nEntrada `float32 [N, 28, 28, 1]` en [0, 1] (canales al final, lo habitual en Keras), "
            "salida logits `[N, 10]`; la normalización va dentro del modelo (una capa `Rescaling`).\n"
            "Input `float32 [N, 28, 28, 1]` in [0, 1] (channels last, Keras's usual layout), output `[N, 10]` logits; "
            "normalisation lives inside the model (a `Rescaling` layer).")
MODEL_T = '''model = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),
    # YOUR CODE HERE: layers ending in Dense(10) (logits, no softmax)
])
raise NotImplementedError
model.summary()'''
MODEL = '''model = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),
    layers.Rescaling(1 / 0.3081, offset=-0.1307 / 0.3081),   # MNIST's mean and std, inside the model
    layers.Conv2D(32, 3, padding="same", activation="relu"),
    layers.MaxPooling2D(2),
    layers.Conv2D(64, 3, padding="same", activation="relu"),
    layers.MaxPooling2D(2),
    layers.Flatten(),
    layers.Dense(128, activation="relu"),
    layers.Dense(10),                                        # logits: the loss applies the softmax
])
model.summary()'''
TRAIN_T = '''# Compile `model` (optimizer, a loss on logits, metrics=["accuracy"]) and train it with
# history = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, ...)
# YOUR CODE HERE
raise NotImplementedError'''
TRAIN = '''model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
history = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=2)'''
PLOT_T = '''# Plot the curves in `history.history` (loss and accuracy per epoch).
# YOUR CODE HERE
raise NotImplementedError'''
PLOT = '''epochs_seen = range(1, len(history.history["loss"]) + 1)
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3))
ax_loss.plot(epochs_seen, history.history["loss"], "o-")
ax_loss.set(xlabel="epoch", ylabel="loss", title="Training loss")
ax_acc.plot(epochs_seen, history.history["accuracy"], "o-")
ax_acc.set(xlabel="epoch", ylabel="accuracy", title="Training accuracy")
plt.tight_layout()
plt.show()'''
EVAL_T = '''# Accuracy of `model` on (x_test, y_test), printed exactly as: print(f"Test accuracy: {acc:.4f}")
# YOUR CODE HERE
raise NotImplementedError'''
EVAL = '''test_loss, acc = model.evaluate(x_test, y_test, verbose=0)
print(f"Test accuracy: {acc:.4f}")'''

def build(solution):
    nb = nbformat.from_dict(copy.deepcopy(tpl))
    c = nb.cells
    c[0].source = intro_k
    c[1].source = IMPORTS
    c[3].source = SETUP
    c[5].source = DATA
    c[7].source = SOFT if solution else SOFT_T
    c[8].source = CE if solution else CE_T
    c[9].source = SELF
    c[10].source = MODEL_MD
    c[11].source = MODEL if solution else MODEL_T
    c[13].source = TRAIN if solution else TRAIN_T
    c[14].source = PLOT if solution else PLOT_T
    c[16].source = EVAL if solution else EVAL_T
    for cell in c:
        if cell.cell_type == "code":
            cell.outputs = []; cell.execution_count = None
    return nb
nbformat.write(build(False), A / "template_keras.ipynb")
nbformat.write(build(True), A / "solution_keras.ipynb")
