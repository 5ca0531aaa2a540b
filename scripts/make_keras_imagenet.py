"""Writes assignments/imagenet_cnn/template_keras.ipynb and solution_keras.ipynb from the PyTorch template
(same cells, same parameters cell, Keras 3 code); run it again after editing the template.

The Keras edition reads the weights from efficientnet-lite0.npz (the .pth's arrays under the same keys, in
PyTorch's layout, written by the practical's student_data hook): np.load needs no torch and no pickle, so the
notebook works under any Keras backend, and turning each kernel into Keras's layout stays the student's work.
"""
import copy
from pathlib import Path

import nbformat

A = Path(__file__).resolve().parents[1] / "assignments" / "imagenet_cnn"
TEMPLATE = nbformat.read(A / "template.ipynb", as_version=4)

INTRO = '''\
# Práctica 2 · ImageNet con una red convolucional, edición Keras / Practical 2 · ImageNet with a CNN, Keras edition

**Español.** Clasifica fotografías en las 1000 clases de ImageNet con una red convolucional **preentrenada**:
la EfficientNet-Lite0, que construyes tú con capas de Keras 3 y en la que copias los pesos reales. Entrega este
cuaderno **ejecutado** (Kernel → Restart & Run All) en Moodle. El corrector lo vuelve a ejecutar con sus propios
valores en la celda de parámetros y comprueba lo siguiente:

- La celda etiquetada `parameters` define exactamente `data_dir`, `device` y `batch_size` con valores literales.
  No les cambies el nombre: el corrector sustituye sus valores. `device = "auto"` significa GPU si hay, si no CPU.
- `data_dir` contiene `examples/` (unas fotografías de ejemplo, sin etiquetas), `imagenet_class_index.json`
  (clase → `[synset, nombre]`) y `efficientnet-lite0.npz`: los pesos de `efficientnet-lite0-57934424.pth` como
  arrays de numpy, con las mismas claves (`_conv_stem.weight`, `_blocks.0._bn1.running_mean`, ...) y en la
  disposición de PyTorch; léelo con `np.load`. No descargues nada (tampoco con `keras.applications`): el
  corrector no tiene red.
- `preprocess(image)`: una `PIL.Image` → array `float32 [224, 224, 3]` (**canales al final**, lo habitual en
  Keras): convierte a RGB (las imágenes en escala de grises también), redimensiona para que el lado **corto** mida
  256 píxeles (bilineal, conservando la proporción), recorta el centro de 224 × 224, pasa a [0, 1] y normaliza
  cada canal con la media `(0.485, 0.456, 0.406)` y la desviación `(0.229, 0.224, 0.225)` de ImageNet. Se
  compara (con los canales pasados al principio) con la tubería de referencia (PIL) con una tolerancia que
  admite pequeñas diferencias de remuestreo; sin recorte o sin normalización no pasa.
- `topk_accuracy(logits, targets, k)`: logits `[N, C]` y clases enteras `[N]` (arrays de numpy) → la fracción
  (un `float` entre 0 y 1) de filas cuya clase está entre las `k` mayores. Se compara de forma exacta.
- `model`: un `keras.Model` que recibe imágenes ya preprocesadas `float32 [N, 224, 224, 3]` (canales al final)
  y devuelve logits `[N, 1000]` en el orden de clases de `imagenet_class_index.json`. Lo esperado: la
  EfficientNet-Lite0 construida con capas de Keras, con cada array del `.npz` copiado en su capa. Vale cualquier
  otra red preentrenada en ImageNet que puedas cargar sin red.

El corrector mide la exactitud top-1 y top-5 de `model` con imágenes que tu cuaderno nunca ve, preprocesadas
por su propia tubería de referencia (la de arriba) y con los canales al final.

**English.** Classify photographs into the 1000 ImageNet classes with a **pretrained** convolutional network:
EfficientNet-Lite0, which you build from Keras 3 layers and fill with its real weights. Upload this notebook
**executed** (Kernel → Restart & Run All) to Moodle. The grader runs it again with its own values in the
parameters cell and checks the following:

- The cell tagged `parameters` defines exactly `data_dir`, `device` and `batch_size` as literal values. Do not
  rename them: the grader replaces their values. `device = "auto"` means a GPU when there is one, else the CPU.
- `data_dir` holds `examples/` (a few example photographs, without labels), `imagenet_class_index.json`
  (class → `[synset, name]`) and `efficientnet-lite0.npz`: the weights of `efficientnet-lite0-57934424.pth` as
  numpy arrays under the same keys (`_conv_stem.weight`, `_blocks.0._bn1.running_mean`, ...), in PyTorch's
  layout; read it with `np.load`. Do not download anything (`keras.applications` neither): the grader has no
  network.
- `preprocess(image)`: a `PIL.Image` → a `float32 [224, 224, 3]` array (**channels last**, Keras's usual
  layout): convert to RGB (greyscale images too), resize so that the **shorter** side is 256 pixels (bilinear,
  keeping the aspect ratio), crop the central 224 × 224, scale to [0, 1] and normalise each channel with
  ImageNet's mean `(0.485, 0.456, 0.406)` and std `(0.229, 0.224, 0.225)`. It is compared (channels moved to the
  front) with the reference pipeline (PIL) under a tolerance that admits small resampling differences; without
  the crop or without the normalisation it fails.
- `topk_accuracy(logits, targets, k)`: `[N, C]` logits and `[N]` integer classes (numpy arrays) → the fraction
  (a `float` between 0 and 1) of rows whose class is among the `k` largest logits. Compared exactly.
- `model`: a `keras.Model` taking preprocessed images `float32 [N, 224, 224, 3]` (channels last) and returning
  `[N, 1000]` logits in the class order of `imagenet_class_index.json`. Expected: EfficientNet-Lite0 built from
  Keras layers, each array of the `.npz` copied into its layer. Any other network pretrained on ImageNet that
  you can load offline is accepted too.

The grader measures `model`'s top-1 and top-5 accuracy on images your notebook never sees, preprocessed by its
own reference pipeline (the one above), channels last.

**Keras.** Keras 3 corre aquí sobre PyTorch (`KERAS_BACKEND=torch`, el corrector lo fija); el cuaderno no
necesita importar `torch`. Keras 3 runs here on PyTorch (`KERAS_BACKEND=torch`, set by the grader); the notebook
need not import `torch`.'''

IMPORTS = '''\
import json
import math
import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")   # the grader's kernels run Keras 3 on PyTorch
import keras
import matplotlib.pyplot as plt
import numpy as np
from keras import layers, ops
from PIL import Image'''

PARAMETERS = '''\
# Grading parameters: the grader replaces these values. Keep the names and keep them literals.
data_dir = "data/imagenet"   # examples/, imagenet_class_index.json, efficientnet-lite0.npz
device = "auto"              # "auto": a GPU when there is one, else the CPU
batch_size = 32'''

SETUP = '''\
# device = "auto": Keras places the model on a GPU when there is one, else on the CPU
print("backend:", keras.backend.backend(), "device:", device)'''

PREPROCESS_MD = '''\
## 2. Preprocesado / Preprocessing

Lado corto a 256 (bilineal), recorte central 224 × 224, [0, 1], media y desviación de ImageNet; canales al final.
Shorter side to 256 (bilinear), central 224 × 224 crop, [0, 1], ImageNet mean and std; channels last.'''

PREPROCESS_HEAD = '''\
MEAN = np.array([0.485, 0.456, 0.406], dtype="float32")
STD = np.array([0.229, 0.224, 0.225], dtype="float32")


def preprocess(image):
    """A PIL image -> float32 [224, 224, 3] (channels last), normalised with ImageNet's mean and std."""
'''
PREPROCESS_T = PREPROCESS_HEAD + '''\
    # YOUR CODE HERE
    raise NotImplementedError'''
PREPROCESS = PREPROCESS_HEAD + '''\
    image = image.convert("RGB")
    width, height = image.size
    scale = 256 / min(width, height)
    size = (max(256, round(width * scale)), max(256, round(height * scale)))
    image = image.resize(size, Image.BILINEAR)
    left, top = (size[0] - 224) // 2, (size[1] - 224) // 2
    image = image.crop((left, top, left + 224, top + 224))
    pixels = np.asarray(image, dtype="float32") / 255.0      # [224, 224, 3]: channels last, as Keras takes them
    return (pixels - MEAN) / STD'''

TOPK_HEAD = '''\
def topk_accuracy(logits, targets, k):
    """Fraction of rows of [N, C] logits whose target class is among the k largest."""
'''
TOPK_T = TOPK_HEAD + '''\
    # YOUR CODE HERE
    raise NotImplementedError'''
TOPK = TOPK_HEAD + '''\
    _, top = ops.top_k(ops.convert_to_tensor(logits), int(k))            # [N, k] class indices, largest first
    targets = ops.reshape(ops.cast(ops.convert_to_tensor(targets), "int32"), (-1, 1))
    hits = ops.any(ops.equal(ops.cast(top, "int32"), targets), axis=1)
    return float(ops.convert_to_numpy(ops.mean(ops.cast(hits, "float32"))))'''

TOPK_SELF = '''\
# A quick self-check (the grader uses its own inputs): row 0 is right at top-1, row 1 only at top-2.
_logits = np.array([[3.0, 1.0, 2.0], [1.0, 3.0, 2.0]], dtype="float32")
print(topk_accuracy(_logits, np.array([0, 2]), 1), topk_accuracy(_logits, np.array([0, 2]), 2))  # 0.5 1.0'''

MODEL_MD = '''\
## 4. Modelo / Model

EfficientNet-Lite0: la EfficientNet-B0 sin *squeeze-and-excitation*, con ReLU6, *batch norm* con `eps=1e-3` y el
relleno "same" de TensorFlow (el píxel sobrante va a la derecha y abajo). Etapas (repeticiones, núcleo, paso,
expansión, canales de entrada, de salida): `(1,3,1,1,32,16) (2,3,2,6,16,24) (2,5,2,6,24,40) (3,3,2,6,40,80)
(3,5,1,6,80,112) (4,5,2,6,112,192) (1,3,1,6,192,320)`; tallo `conv 3×3/2` a 32 canales, cabeza `conv 1×1` a 1280,
media global y `Dense(1000)`. En Keras: `Conv2D(..., padding="same", use_bias=False)` (el "same" de Keras es el
de TensorFlow, con el que se entrenaron estos pesos), `DepthwiseConv2D`, `BatchNormalization(epsilon=1e-3)`,
`ReLU(max_value=6)`, `Add`, `GlobalAveragePooling2D` y `Dense`. Un bloque con paso 1 y tantos canales de
entrada como de salida suma su entrada a su salida. El `.npz` guarda cada array en la disposición de PyTorch;
Keras usa otra (tabla). Los nombres de capa de Keras no admiten puntos: si llamas a cada capa como su clave con
`_` en lugar de `.` (`_blocks_3__depthwise_conv` para `_blocks.3._depthwise_conv`), copiar es un solo bucle.

EfficientNet-Lite0: EfficientNet-B0 without squeeze-and-excitation, with ReLU6, batch norm with `eps=1e-3` and
TensorFlow's "same" padding (the odd extra pixel goes right and bottom). Stages (repeats, kernel, stride,
expansion, in channels, out channels) as above; stem `conv 3×3/2` to 32 channels, head `conv 1×1` to 1280,
global average and `Dense(1000)`. In Keras: `Conv2D(..., padding="same", use_bias=False)` (Keras's "same" is
TensorFlow's, which these weights were trained with), `DepthwiseConv2D`, `BatchNormalization(epsilon=1e-3)`,
`ReLU(max_value=6)`, `Add`, `GlobalAveragePooling2D` and `Dense`. A block with stride 1 and as many input as
output channels adds its input to its output. The `.npz` holds each array in PyTorch's layout; Keras uses
another (table). Keras layer names cannot hold dots: name each layer after its key with `_` for `.`
(`_blocks_3__depthwise_conv` for `_blocks.3._depthwise_conv`) and the copy is one loop.

| capa / layer | `.npz` (PyTorch) | Keras (`layer.set_weights`) |
|---|---|---|
| `Conv2D` | `weight [out, in, kh, kw]` | `kernel [kh, kw, in, out]` |
| `DepthwiseConv2D` | `weight [C, 1, kh, kw]` | `kernel [kh, kw, C, 1]` |
| `BatchNormalization` | `weight`, `bias`, `running_mean`, `running_var` | `gamma`, `beta`, `moving_mean`, `moving_variance` |
| `Dense` | `weight [out, in]`, `bias [out]` | `kernel [in, out]`, `bias [out]` |'''

STAGES = '''\
STAGES = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]

'''
LOAD = '''

model = efficientnet_lite0()
with np.load(Path(data_dir) / "efficientnet-lite0.npz") as npz:
    weights = dict(npz)
copy_weights(model, weights)
print(model.count_params(), "parameters")'''
MODEL_T = STAGES + '''
def efficientnet_lite0():
    """EfficientNet-Lite0 as a keras.Model: float32 [N, 224, 224, 3] -> [N, 1000] logits."""
    # YOUR CODE HERE
    raise NotImplementedError


def copy_weights(model, weights):
    """Every array of `weights` (keys and layout of the .pth) into its layer of `model`, in Keras's layout."""
    # YOUR CODE HERE
    raise NotImplementedError''' + LOAD
MODEL = STAGES + '''
def conv(x, filters, kernel, name, stride=1):
    """Bias-free convolution with TensorFlow's "same" padding, which is Keras's own "same"."""
    return layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False, name=name)(x)


def norm(x, name, relu6=True):
    x = layers.BatchNormalization(epsilon=1e-3, name=name)(x)
    return layers.ReLU(max_value=6)(x) if relu6 else x


def block(x, number, cin, cout, kernel, stride, expand):
    """Inverted residual without squeeze-excitation; layers named after the .pth's keys ("." as "_")."""
    name = f"_blocks_{number}_"
    y = norm(conv(x, cin * expand, 1, name + "_expand_conv"), name + "_bn0") if expand != 1 else x
    y = layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False,
                               name=name + "_depthwise_conv")(y)
    y = norm(y, name + "_bn1")
    y = norm(conv(y, cout, 1, name + "_project_conv"), name + "_bn2", relu6=False)
    return layers.Add()([x, y]) if stride == 1 and cin == cout else y


def efficientnet_lite0():
    """EfficientNet-Lite0 as a keras.Model: float32 [N, 224, 224, 3] -> [N, 1000] logits."""
    inputs = keras.Input(shape=(224, 224, 3))
    x = norm(conv(inputs, 32, 3, "_conv_stem", stride=2), "_bn0")
    number = 0
    for repeats, kernel, stride, expand, cin, cout in STAGES:
        for i in range(repeats):
            x = block(x, number, cin if i == 0 else cout, cout, kernel, stride if i == 0 else 1, expand)
            number += 1
    x = norm(conv(x, 1280, 1, "_conv_head"), "_bn1")
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(1000, name="_fc")(x), name="efficientnet_lite0")


def copy_weights(model, weights):
    """Every array of `weights` (keys and layout of the .pth) into its layer of `model`, in Keras's layout."""
    prefixes = dict.fromkeys(key.rsplit(".", 1)[0] for key in weights)    # "_blocks.3._bn1", in file order
    for prefix in prefixes:
        layer = model.get_layer(prefix.replace(".", "_"))

        def w(name):
            return weights[f"{prefix}.{name}"]

        if isinstance(layer, layers.DepthwiseConv2D):
            layer.set_weights([w("weight").transpose(2, 3, 0, 1)])          # [C, 1, kh, kw] -> [kh, kw, C, 1]
        elif isinstance(layer, layers.Conv2D):
            layer.set_weights([w("weight").transpose(2, 3, 1, 0)])          # [out, in, kh, kw] -> [kh, kw, in, out]
        elif isinstance(layer, layers.BatchNormalization):
            layer.set_weights([w("weight"), w("bias"), w("running_mean"), w("running_var")])
        else:
            layer.set_weights([w("weight").T, w("bias")])                   # Dense: [out, in] -> [in, out]
    with_weights = [layer.name for layer in model.layers if layer.weights]
    if len(with_weights) != len(prefixes):    # like load_state_dict(strict=True): no layer left as initialised
        raise ValueError(f"{len(prefixes)} layers in the file, {len(with_weights)} with weights in the model")''' + LOAD

PREDICT = '''\
images = [Image.open(p).convert("RGB") for p in example_paths]
batch = np.stack([preprocess(image) for image in images])     # [N, 224, 224, 3]
logits = model.predict(batch, batch_size=batch_size, verbose=0)
probabilities = ops.convert_to_numpy(ops.softmax(logits, axis=1))
top5 = np.argsort(-probabilities, axis=1)[:, :5]
for path, p, indices in zip(example_paths, probabilities, top5):
    print(path.name, ", ".join(f"{class_names[i]} {p[i]:.2f}" for i in indices))'''

PLOT = '''\
columns = 4
rows = math.ceil(len(images) / columns)
fig, axes = plt.subplots(rows, columns, figsize=(3 * columns, 3 * rows), squeeze=False)
for ax in axes.flat:
    ax.axis("off")
for ax, image, p, indices in zip(axes.flat, images, probabilities, top5):
    ax.imshow(image)
    ax.set_title(f"{class_names[indices[0]]} ({p[indices[0]]:.2f})", fontsize=9)
fig.tight_layout()
plt.show()'''


def build(solution: bool) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(copy.deepcopy(TEMPLATE))
    cells = nb.cells
    # the PyTorch template's cells, by position: the Keras edition keeps their order and their ids
    expected = {2: "parameters", 7: "def preprocess", 10: "def topk_accuracy", 13: "class EfficientNetLite0",
                15: "topk(5", 16: "plt.subplots"}
    for index, text in expected.items():
        assert text in cells[index].source, f"template.ipynb changed: cell {index} lacks {text!r}"
    sources = {0: INTRO, 1: IMPORTS, 2: PARAMETERS, 3: SETUP, 6: PREPROCESS_MD,
               7: PREPROCESS if solution else PREPROCESS_T, 10: TOPK if solution else TOPK_T, 11: TOPK_SELF,
               12: MODEL_MD, 13: MODEL if solution else MODEL_T, 15: PREDICT, 16: PLOT}
    for index, source in sources.items():
        cells[index].source = source
    for cell in cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


if __name__ == "__main__":
    nbformat.write(build(False), A / "template_keras.ipynb")
    nbformat.write(build(True), A / "solution_keras.ipynb")
