"""The reference function library against PyTorch, and usable as a function check with no code."""
import math
import runpy
import textwrap

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grader.assignment import load_assignment
from grader.checks.evaluate import evaluate
from grader.checks.plan import PROBE_FILE, plan_probe
from grader.i18n import render
from grader.records import InspectionReport, RunResult
from reference import library as lib

RNG = np.random.default_rng(5)


def _autograd(fn, z):
    t = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    fn(t).sum().backward()
    return t.grad.numpy()


@pytest.mark.parametrize("name, torch_fn", [
    ("sigmoid", torch.sigmoid), ("tanh", torch.tanh), ("relu", torch.relu),
    ("leaky_relu", lambda t: F.leaky_relu(t, 0.01)),
])
def test_activations_and_their_derivatives_match_torch_autograd(name, torch_fn):
    for (z,) in lib.activation_cases(RNG):
        z = z.astype(np.float64)
        assert np.allclose(getattr(lib, name)(z), torch_fn(torch.from_numpy(z)).numpy(), atol=1e-12)
        assert np.allclose(getattr(lib, name + "_derivative")(z), _autograd(torch_fn, z), atol=1e-12)
    assert np.isfinite(lib.sigmoid(np.array([-1000.0, 1000.0]))).all()


def test_softmax_and_cross_entropies_match_torch():
    for (logits,) in lib.softmax_cases(RNG):
        assert np.allclose(lib.softmax(logits), torch.softmax(torch.from_numpy(logits).double(), 1).numpy())
    for p, y in lib.binary_cross_entropy_cases(RNG):
        assert np.isclose(lib.binary_cross_entropy(p, y), F.binary_cross_entropy(torch.tensor(p), torch.tensor(y)))
    for p, onehot in lib.categorical_cross_entropy_cases(RNG):
        expected = F.nll_loss(torch.log(torch.tensor(p)), torch.tensor(onehot.argmax(1)))
        assert np.isclose(lib.categorical_cross_entropy(p, onehot), expected)
    for p, y, lambd, *weights in lib.l2_regularised_cost_cases(RNG):
        penalty = sum(torch.sum(torch.tensor(w) ** 2) for w in weights) * lambd / (2 * len(y))
        expected = F.binary_cross_entropy(torch.tensor(p), torch.tensor(y)) + penalty
        assert np.isclose(lib.l2_regularised_cost(p, y, lambd, *weights), expected)


@pytest.mark.parametrize("name, make", [
    ("momentum", lambda p, lr: torch.optim.SGD([p], lr=lr[0], momentum=lr[1])),
    ("rmsprop", lambda p, lr: torch.optim.RMSprop([p], lr=lr[0], alpha=lr[1], eps=1e-8)),
    ("adam", lambda p, lr: torch.optim.Adam([p], lr=lr[0], betas=(0.9, 0.999), eps=1e-8)),
])
def test_optimiser_steps_follow_torch_optim_for_five_steps(name, make):
    w0 = RNG.standard_normal((3, 4))
    grads = [RNG.standard_normal((3, 4)) for _ in range(5)]
    hyper = {"momentum": (0.1, 0.9), "rmsprop": (0.01, 0.9), "adam": (0.01, None)}[name]
    p = torch.nn.Parameter(torch.tensor(w0))
    opt = make(p, hyper)
    w, state = w0, [np.zeros_like(w0), np.zeros_like(w0)]
    for t, g in enumerate(grads, start=1):
        p.grad = torch.tensor(g)
        opt.step()
        if name == "momentum":
            w, v = lib.momentum_step(w, g, state[0], *hyper)
            # torch's first momentum step copies the gradient into the buffer: the same as v = 0.9 * 0 + g
            state = [v, None]
        elif name == "rmsprop":
            w, s = lib.rmsprop_step(w, g, state[0], *hyper)
            state = [s, None]
        else:
            w, m, v = lib.adam_step(w, g, state[0], state[1], t, hyper[0])
            state = [m, v]
        assert np.allclose(w, p.detach().numpy(), rtol=1e-10, atol=1e-12), f"{name} step {t}"


def test_batch_norm_forward_matches_f_batch_norm_in_training_mode():
    for x, gamma, beta in lib.batch_norm_forward_cases(RNG):
        expected = F.batch_norm(torch.tensor(x), None, None, torch.tensor(gamma), torch.tensor(beta),
                                training=True, eps=1e-5)
        assert np.allclose(lib.batch_norm_forward(x, gamma, beta), expected.numpy(), atol=1e-10)


def test_conv_and_pool_output_sizes_match_torch_layers():
    for size, kernel, *rest in lib.conv_output_size_cases(RNG):
        stride, padding = rest
        conv = torch.nn.Conv2d(1, 1, kernel, stride=stride, padding=padding)
        assert lib.conv_output_size(size, kernel, stride, padding) == conv(torch.zeros(1, 1, size, size)).shape[-1]
    for size, kernel, *rest in lib.pool_output_size_cases(RNG):
        pool = torch.nn.MaxPool2d(kernel, *rest)
        assert lib.pool_output_size(size, kernel, *rest) == pool(torch.zeros(1, 1, size, size)).shape[-1]


def test_statistical_checks_accept_torch_and_catch_wrong_variance_or_scaling():
    for fan_in, fan_out in lib.init_cases(RNG):
        he = torch.nn.init.kaiming_normal_(torch.empty(fan_out, fan_in), nonlinearity="relu").numpy()
        xavier = torch.nn.init.xavier_normal_(torch.empty(fan_out, fan_in)).numpy()
        assert lib.init_compare(he, lib.he_expected(fan_in, fan_out)) == (True, "")
        assert lib.init_compare(xavier, lib.xavier_expected(fan_in, fan_out)) == (True, "")
        ok, detail = lib.init_compare(xavier, lib.he_expected(fan_in, fan_out))
        assert not ok and "variance" in detail
        assert not lib.init_compare(he * 0 + 0.01, lib.he_expected(fan_in, fan_out))[0]
    for a, keep in lib.inverted_dropout_cases(RNG):
        expected = lib.inverted_dropout_expected(a, keep)
        assert lib.inverted_dropout_compare(F.dropout(torch.tensor(a), 1 - keep).numpy(), expected) == (True, "")
        assert lib.inverted_dropout_compare(lib.inverted_dropout(a, keep, RNG), expected)[0]
        unscaled = a * (RNG.random(a.shape) < keep)
        assert "scaled" in lib.inverted_dropout_compare(unscaled, expected)[1]
        assert "kept" in lib.inverted_dropout_compare(a / keep, expected)[1]   # never drops anything
    for (x,) in lib.normalise_inputs_cases(RNG):
        norm = lib.normalise_inputs(x)
        assert np.allclose(norm.mean(0), 0) and np.allclose(norm.std(0), 1)
        assert np.allclose(norm, F.layer_norm(torch.tensor(x).T, (len(x),), eps=0).T.numpy(), atol=1e-6)


LIBRARY_CHECKS = '''
[assignment]
id = "library"
title = "Library"
version = "1"
max_points = "4"
[[checks]]
id = "conv"
kind = "function"
name = "conv_size"
reference = "reference.library:conv_output_size"
cases = "reference.library:conv_output_size_cases"
points = "1"
[[checks]]
id = "he"
kind = "function"
name = "he_init"
reference = "reference.library:he_expected"
cases = "reference.library:he_cases"
compare = "reference.library:init_compare"
points = "1"
[[checks]]
id = "adam"
kind = "function"
name = "adam"
reference = "reference.library:adam_step"
cases = "reference.library:adam_step_cases"
rtol = "1e-5"
atol = "1e-7"
points = "1"
[[checks]]
id = "dropout"
kind = "function"
name = "dropout"
reference = "reference.library:inverted_dropout_expected"
cases = "reference.library:inverted_dropout_cases"
compare = "reference.library:inverted_dropout_compare"
points = "1"
'''

STUDENT = {
    "conv_size": lambda n, k, s=1, p=0: (n + 2 * p - k) // s + 1,
    "he_init": lambda fan_in, fan_out: torch.randn(fan_out, fan_in) * math.sqrt(1 / fan_in),   # Xavier-ish: wrong
    "adam": lambda w, g, m, v, t, lr: tuple(lib.adam_step(w.numpy(), g.numpy(), m.numpy(), v.numpy(), t, lr)),
    "dropout": lambda a, keep: a,
}


def test_an_instructor_adds_library_checks_with_no_code(tmp_path):
    (tmp_path / "assignment.toml").write_text(textwrap.dedent(LIBRARY_CHECKS))
    assignment = load_assignment(tmp_path)
    plan = plan_probe(assignment, tmp_path / "probe", tmp_path, {}, 3)
    runpy.run_path(str(tmp_path / "probe" / PROBE_FILE))["main"](STUDENT, plan.nonce, str(tmp_path / "probe"),
                                                                 str(tmp_path / "out"))
    run = RunResult(status="ok", duration_s=1.0, executed_notebook=None, out_dir=tmp_path / "out")
    inspected = InspectionReport(readable=True, nbformat=4, code_cells=1, executed_cells=1, executed=True,
                                 in_order=True, error_cells=(), has_plot=False, colab=False,
                                 has_parameters_cell=False, practical_hint=None)
    results = {r.check_id: r for r in evaluate(assignment, plan, inspected, run)}
    assert results["conv"].passed and results["adam"].passed, render(results["adam"].reason, "en")
    assert results["he"].points == 0 and "variance" in render(results["he"].reason, "en")
    assert results["dropout"].points == 0 and "not scaled by 1/keep_prob" in render(results["dropout"].reason, "en")
