"""The reference function library: the course's building blocks, so an instructor can add a
``function`` check with no code (``reference = "reference.library:relu"``, ``cases = "...:relu_cases"``).

Plain float64 numpy, torch tensors accepted as inputs; PyTorch's conventions where they differ
(momentum without dampening, as torch.optim.SGD). It never imports the grader nor calls student code.
"""
from __future__ import annotations

import math

import numpy as np

from reference.functions import _as_array, softmax  # noqa: F401  (softmax is part of the library)

# ----------------------------------------------------------------------------- activations


def sigmoid(z):
    z = _as_array(z)
    # two branches so that neither exp() overflows for large |z|
    return np.where(z >= 0, 1.0 / (1.0 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1.0 + np.exp(-np.abs(z))))


def sigmoid_derivative(z):
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh(z):
    return np.tanh(_as_array(z))


def tanh_derivative(z):
    return 1.0 - np.tanh(_as_array(z)) ** 2


def relu(z):
    return np.maximum(_as_array(z), 0.0)


def relu_derivative(z):
    """1 where z > 0, else 0 (0 at z == 0, as PyTorch's autograd)."""
    return (_as_array(z) > 0).astype(np.float64)


def leaky_relu(z, alpha=0.01):
    z = _as_array(z)
    return np.where(z > 0, z, alpha * z)


def leaky_relu_derivative(z, alpha=0.01):
    return np.where(_as_array(z) > 0, 1.0, alpha)


def activation_cases(rng):
    """Ordinary, tiny and huge pre-activations (sigmoid must not overflow at +-1000), exact zeros included."""
    return [(rng.standard_normal((4, 6)).astype(np.float32),),
            ((rng.standard_normal((3, 5)) * 50).astype(np.float32),),
            (np.array([[-1000.0, -20.0, -1e-3, 0.0, 1e-3, 20.0, 1000.0]], dtype=np.float32),)]


sigmoid_cases = tanh_cases = relu_cases = leaky_relu_cases = activation_cases
sigmoid_derivative_cases = tanh_derivative_cases = relu_derivative_cases = activation_cases
leaky_relu_derivative_cases = activation_cases


def softmax_cases(rng):
    return [((rng.standard_normal((4, 10)) * s).astype(np.float32),) for s in (1.0, 10.0, 1000.0)]


# ----------------------------------------------------------------------------- costs

_EPS = 1e-12


def binary_cross_entropy(probabilities, targets):
    """Mean of -(y log a + (1 - y) log(1 - a)); probabilities clipped away from 0 and 1."""
    a = np.clip(_as_array(probabilities), _EPS, 1 - _EPS)
    y = _as_array(targets)
    return np.asarray(-np.mean(y * np.log(a) + (1 - y) * np.log(1 - a)))


def binary_cross_entropy_cases(rng):
    cases = []
    for n in (5, 32):
        probabilities = rng.uniform(0.01, 0.99, size=n)
        cases.append((probabilities, rng.integers(0, 2, size=n).astype(np.float64)))
    return cases


def categorical_cross_entropy(probabilities, one_hot):
    """Mean over rows of -sum(y log p) for probabilities [N, C] and one-hot targets [N, C]."""
    p = np.clip(_as_array(probabilities), _EPS, 1.0)
    return np.asarray(-np.mean(np.sum(_as_array(one_hot) * np.log(p), axis=-1)))


def categorical_cross_entropy_cases(rng):
    cases = []
    for n, c in ((4, 3), (16, 10)):
        probabilities = softmax(rng.standard_normal((n, c)) * 2)
        cases.append((probabilities, np.eye(c)[rng.integers(0, c, size=n)]))
    return cases


def l2_regularised_cost(probabilities, targets, lambd, *weights):
    """Binary cross-entropy plus lambd / (2 m) * sum of every weight matrix's squared entries."""
    m = _as_array(targets).size
    penalty = sum(float(np.sum(_as_array(w) ** 2)) for w in weights)
    return np.asarray(binary_cross_entropy(probabilities, targets) + lambd / (2 * m) * penalty)


def l2_regularised_cost_cases(rng):
    cases = []
    for lambd in (0.1, 0.7):
        probabilities = rng.uniform(0.05, 0.95, size=8)
        targets = rng.integers(0, 2, size=8).astype(np.float64)
        cases.append((probabilities, targets, lambd, rng.standard_normal((4, 3)), rng.standard_normal((1, 4))))
    return cases


# ----------------------------------------------------------------------------- dropout, normalisation


def inverted_dropout(a, keep_prob, rng=None):
    """Keep each unit with probability keep_prob and scale the kept ones by 1 / keep_prob."""
    a = _as_array(a)
    rng = rng or np.random.default_rng()
    return a * (rng.random(a.shape) < keep_prob) / keep_prob


def inverted_dropout_expected(a, keep_prob):
    """What inverted_dropout_compare needs: the input and keep_prob (one draw cannot be compared exactly)."""
    return {"input": _as_array(a), "keep_prob": float(keep_prob)}


def inverted_dropout_compare(got, expected):
    """Kept units are exactly a / keep_prob, dropped ones 0, and the kept share is keep_prob within 4.5 sigma."""
    a, p = expected["input"], expected["keep_prob"]
    got = np.asarray(got, dtype=np.float64)
    if got.shape != a.shape:
        return False, f"got shape {got.shape}, expected {a.shape}"
    kept = got != 0
    if not np.allclose(got[kept], a[kept] / p, rtol=1e-4, atol=1e-6):
        return False, f"kept units are not scaled by 1/keep_prob = {1 / p:.4g}"
    share, sigma = kept.mean(), math.sqrt(p * (1 - p) / a.size)
    if abs(share - p) > 4.5 * sigma + 1e-9:
        return False, f"kept {share:.3f} of the units, expected about {p}"
    return True, ""


def inverted_dropout_cases(rng):
    # inputs without zeros, so that a dropped unit is told from a kept one
    return [(rng.uniform(0.5, 2.0, size=(50, 40)), keep) for keep in (0.8, 0.5)]


def normalise_inputs(x, axis=0):
    """Zero mean and unit variance per feature (statistics over ``axis``, the examples)."""
    x = _as_array(x)
    return (x - x.mean(axis=axis, keepdims=True)) / x.std(axis=axis, keepdims=True)


def normalise_inputs_cases(rng):
    return [(rng.normal(5.0, 3.0, size=(20, 4)),), (rng.normal(-2.0, 0.1, size=(50, 7)),)]


# ----------------------------------------------------------------------------- initialisation


def he_expected(fan_in, fan_out):
    return {"shape": (int(fan_out), int(fan_in)), "variance": 2.0 / fan_in}


def xavier_expected(fan_in, fan_out):
    return {"shape": (int(fan_out), int(fan_in)), "variance": 2.0 / (fan_in + fan_out)}


def init_compare(got, expected):
    """Shape [fan_out, fan_in], mean ~ 0 and variance ~ the expected one (5 sigma of their sampling error)."""
    got = np.asarray(got, dtype=np.float64)
    if got.shape != expected["shape"]:
        return False, f"got shape {got.shape}, expected {expected['shape']} ([fan_out, fan_in])"
    n, variance = got.size, expected["variance"]
    if abs(got.mean()) > 5 * math.sqrt(variance / n):
        return False, f"mean {got.mean():.4g}, expected about 0"
    if abs(got.var() - variance) > 5 * variance * math.sqrt(2 / n):
        return False, f"variance {got.var():.4g}, expected about {variance:.4g}"
    return True, ""


def init_cases(rng):
    return [(int(fan_in), int(fan_out)) for fan_in, fan_out in ((256, 128), (784, 64), (100, 300))]


he_cases = xavier_cases = init_cases

# ----------------------------------------------------------------------------- optimiser steps (torch.optim)


def momentum_step(w, grad, velocity, lr, beta):
    """One SGD-with-momentum step as torch.optim.SGD: v = beta v + g; w = w - lr v. Returns (w, v)."""
    v = beta * _as_array(velocity) + _as_array(grad)
    return _as_array(w) - lr * v, v


def rmsprop_step(w, grad, square_avg, lr, alpha, eps=1e-8):
    """One RMSProp step as torch.optim.RMSprop: s = alpha s + (1 - alpha) g^2; w -= lr g / (sqrt(s) + eps)."""
    g = _as_array(grad)
    s = alpha * _as_array(square_avg) + (1 - alpha) * g ** 2
    return _as_array(w) - lr * g / (np.sqrt(s) + eps), s


def adam_step(w, grad, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam step (t counts from 1) as torch.optim.Adam. Returns (w, m, v)."""
    g = _as_array(grad)
    m = beta1 * _as_array(m) + (1 - beta1) * g
    v = beta2 * _as_array(v) + (1 - beta2) * g ** 2
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return _as_array(w) - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def _state(rng, shape=(3, 4)):
    return rng.standard_normal(shape), rng.standard_normal(shape)


def momentum_step_cases(rng):
    return [(*_state(rng), rng.standard_normal((3, 4)), 0.1, 0.9), (*_state(rng), np.zeros((3, 4)), 0.01, 0.5)]


def rmsprop_step_cases(rng):
    return [(*_state(rng), rng.uniform(0, 1, (3, 4)), 0.01, 0.99), (*_state(rng), np.zeros((3, 4)), 0.1, 0.9)]


def adam_step_cases(rng):
    return [(*_state(rng), np.zeros((3, 4)), np.zeros((3, 4)), 1, 0.001),
            (*_state(rng), rng.standard_normal((3, 4)) * 0.1, rng.uniform(0, 0.1, (3, 4)), 7, 0.01)]


# ----------------------------------------------------------------------------- batch norm, shapes


def batch_norm_forward(x, gamma, beta, eps=1e-5):
    """Training-mode batch norm as F.batch_norm(training=True): statistics over every axis but 1."""
    x = _as_array(x)
    axes = tuple(i for i in range(x.ndim) if i != 1)
    shape = [1] * x.ndim
    shape[1] = x.shape[1]
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * _as_array(gamma).reshape(shape) + _as_array(beta).reshape(shape)


def batch_norm_forward_cases(rng):
    return [(rng.normal(3, 2, (8, 5)), rng.uniform(0.5, 2, 5), rng.standard_normal(5)),
            (rng.normal(-1, 4, (4, 3, 5, 5)), rng.uniform(0.5, 2, 3), rng.standard_normal(3))]


def conv_output_size(size, kernel, stride=1, padding=0, dilation=1):
    """Output length of a convolution (or pooling, ceil_mode off) along one dimension, as PyTorch."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def pool_output_size(size, kernel, stride=None, padding=0):
    """Pooling's stride defaults to its kernel, as nn.MaxPool2d."""
    return conv_output_size(size, kernel, kernel if stride is None else stride, padding)


def conv_output_size_cases(rng):
    cases = [(28, 3, 1, 1), (28, 5, 1, 0), (32, 3, 2, 1), (224, 7, 2, 3)]
    kernel = int(rng.integers(1, 6))
    cases.append((int(rng.integers(16, 64)), kernel, int(rng.integers(1, 4)), int(rng.integers(0, kernel // 2 + 1))))
    return cases


def pool_output_size_cases(rng):
    return [(28, 2), (27, 2), (32, 3, 2), (14, 3, 2, 1), (int(rng.integers(8, 64)), 2)]
