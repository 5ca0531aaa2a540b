"""Which edition a notebook follows is read from its imports: Keras 3 (or tf.keras), else PyTorch."""
from grader.editions import imports_keras


def _cells(*sources):
    return [{"cell_type": "code", "source": s} for s in sources]


def test_a_notebook_importing_keras_follows_the_keras_edition():
    assert imports_keras(_cells("%matplotlib inline\nimport keras"))
    assert imports_keras(_cells("from keras import layers, ops"))
    assert imports_keras(_cells("from tensorflow import keras"))
    assert imports_keras(_cells("import tensorflow.keras as tfk"))


def test_a_notebook_without_keras_imports_follows_the_pytorch_edition():
    assert not imports_keras(_cells("import torch\nfrom torch import nn", "x = 'import keras'"))
    assert not imports_keras(_cells("def (broken", "# import keras"))
    assert not imports_keras([{"cell_type": "markdown", "source": "import keras"}])
