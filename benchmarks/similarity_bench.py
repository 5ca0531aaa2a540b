"""Benchmark of `grader similarity`: 500 synthetic MNIST submissions (about 125,000 pairs) must take < 60 s.

Writes the notebooks to a temporary folder (not timed), then times run_similarity end to end: reading
every notebook, removing the template, fingerprinting, comparing every pair, writing the CSV and pages.
Some submissions are planted copies (renamed, commented, cells reordered); the run must find them.

    .venv/bin/python benchmarks/similarity_bench.py [--n 500] [--copies 20] [--seed 0]
"""
from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from grader.course import single_practical_course
from grader.records import Submission
from grader.similarity import run_similarity

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "assignments" / "mnist_cnn" / "template.ipynb"
LIMIT_S = 60.0
_NAMES = ["x", "h", "out", "z", "feat", "inp", "xb", "batch", "data", "t", "y", "act", "a", "v", "tmp", "res"]


def _name(rng: random.Random) -> str:
    return rng.choice(_NAMES) + rng.choice(["", "_", "1", "2", "_b", "_t"])


def _softmax(rng: random.Random) -> str:
    z, e = _name(rng), _name(rng) + "e"
    body = rng.choice([
        f"    {z} = logits - logits.max(dim=1, keepdim=True).values\n    {e} = torch.exp({z})\n"
        f"    return {e} / {e}.sum(dim=1, keepdim=True)",
        f"    {z} = logits - torch.amax(logits, dim=1, keepdim=True)\n"
        f"    return {z}.exp() / {z}.exp().sum(1, keepdim=True)",
        f"    m, _ = torch.max(logits, dim=1, keepdim=True)\n    {e} = (logits - m).exp()\n"
        f"    {z} = torch.sum({e}, dim=1, keepdim=True)\n    return {e} / {z}",
        f"    return torch.exp(logits - torch.logsumexp(logits, dim={rng.choice(['1', '-1'])}, keepdim=True))",
    ])
    return f'def softmax(logits):\n    """Probabilities over dim 1 of [N, C] logits."""\n{body}'


def _cross_entropy(rng: random.Random) -> str:
    lp = _name(rng) + "_lp"
    body = rng.choice([
        f"    {lp} = logits - torch.logsumexp(logits, dim=1, keepdim=True)\n"
        f"    return -{lp}[torch.arange(len(targets)), targets].mean()",
        f"    m = logits.max(dim=1, keepdim=True).values\n    {lp} = logits - m - torch.log(torch.exp(logits - m)"
        f".sum(dim=1, keepdim=True))\n    return -{lp}.gather(1, targets.view(-1, 1)).mean()",
        f"    {lp} = torch.log(softmax(logits) + {rng.choice(['1e-9', '1e-12', '1e-8'])})\n"
        f"    onehot = torch.zeros_like({lp}).scatter_(1, targets.unsqueeze(1), 1.0)\n"
        f"    return -({lp} * onehot).sum(dim=1).mean()",
        f"    n = logits.shape[0]\n    s = logits - logits.max(1, keepdim=True)[0]\n"
        f"    {lp} = s - s.exp().sum(1, keepdim=True).log()\n    return -{lp}[range(n), targets].sum() / n",
    ])
    return ('def cross_entropy(logits, targets):\n    """Mean cross-entropy of [N, C] logits against integer '
            f'targets [N], without F.cross_entropy."""\n{body}')


def _model(rng: random.Random) -> str:
    blocks = rng.randint(1, 3)
    channels = [rng.choice([8, 12, 16, 24, 32, 48, 64]) for _ in range(blocks)]
    kernel = rng.choice([3, 5])
    act = rng.choice(["nn.ReLU()", "nn.GELU()", "nn.LeakyReLU(0.1)", "nn.Tanh()", "nn.ELU()"])
    pool = rng.choice(["nn.MaxPool2d(2)", "nn.AvgPool2d(2)"])
    hidden = rng.choice([32, 64, 100, 128, 200, 256])
    layers, c_in, size = [], 1, 28
    for c in channels:
        layers.append(f"nn.Conv2d({c_in}, {c}, {kernel}, padding={kernel // 2})")
        if rng.random() < 0.4:
            layers.append(f"nn.BatchNorm2d({c})")
        layers += [act, pool]
        c_in, size = c, size // 2
    if rng.random() < 0.5:
        layers.append(f"nn.Dropout({rng.choice([0.1, 0.2, 0.25, 0.3, 0.5])})")
    head = ["nn.Flatten()", f"nn.Linear({c_in} * {size} * {size}, {hidden})", act, f"nn.Linear({hidden}, 10)"]
    norm = rng.choice(["(x - 0.1307) / 0.3081", "x * 2 - 1", "x - 0.5", "(x - 0.5) / 0.5"])
    if rng.random() < 0.5:
        inner = ",\n            ".join(layers + head)
        init = f"        self.net = nn.Sequential(\n            {inner},\n        )"
        forward = f"        return self.net({norm})"
    else:
        init = ("        self.features = nn.Sequential(" + ", ".join(layers) + ")\n"
                "        self.head = nn.Sequential(" + ", ".join(head) + ")")
        forward = f"        x = {norm}\n        x = self.features(x)\n        return self.head(x)"
    return (f"class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n{init}\n\n"
            f"    def forward(self, x):\n{forward}\n\n\nmodel = Net().to(device)\nprint(model)")


def _training(rng: random.Random) -> str:
    opt, xb, yb, lo = _name(rng) + "_opt", _name(rng) + "_x", _name(rng) + "_y", _name(rng) + "_loss"
    optimiser = rng.choice([f"torch.optim.Adam(model.parameters(), lr={rng.choice(['1e-3', '3e-4', '2e-3'])})",
                            f"torch.optim.SGD(model.parameters(), lr={rng.choice(['0.01', '0.05', '0.1'])}, "
                            f"momentum={rng.choice(['0.9', '0.95', '0.8'])})",
                            f"torch.optim.AdamW(model.parameters(), lr=1e-3, "
                            f"weight_decay={rng.choice(['1e-4', '1e-2'])})",
                            "torch.optim.RMSprop(model.parameters(), lr=1e-3)"])
    lines = [f"{opt} = {optimiser}", 'history = {"loss": [], "accuracy": []}']
    if rng.random() < 0.3:
        lines.append(f"sched = torch.optim.lr_scheduler.StepLR({opt}, step_size={rng.randint(1, 3)}, gamma=0.5)")
    manual = rng.random() < 0.5
    if not manual:
        lines.append(f"loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_train, y_train), "
                     f"batch_size=batch_size, shuffle={rng.choice(['True', 'True', 'False'])})")
    lines += ["for epoch in range(epochs):", "    model.train()", "    total, hits, count = 0.0, 0, 0"]
    if manual:
        lines += ["    order = torch.randperm(len(x_train))", "    for i in range(0, len(x_train), batch_size):",
                  "        sel = order[i:i + batch_size]",
                  f"        {xb}, {yb} = x_train[sel].to(device), y_train[sel].to(device)"]
    else:
        lines += [f"    for {xb}, {yb} in loader:", f"        {xb}, {yb} = {xb}.to(device), {yb}.to(device)"]
    step = [f"        {opt}.zero_grad()", f"        logits = model({xb})",
            f"        {lo} = cross_entropy(logits, {yb})", f"        {lo}.backward()"]
    if rng.random() < 0.3:
        step.append(f"        nn.utils.clip_grad_norm_(model.parameters(), {rng.choice(['1.0', '5.0'])})")
    step.append(f"        {opt}.step()")
    if rng.random() < 0.5:   # zero_grad before or after the step: both are common
        step = step[1:] + ["        " + step[0].strip()]
    lines += step
    lines += [rng.choice([f"        total += {lo}.item() * len({xb})",
                          f"        total += float({lo}) * {xb}.shape[0]"]),
              rng.choice([f"        hits += (logits.argmax(1) == {yb}).sum().item()",
                          f"        hits += int((logits.argmax(dim=1) == {yb}).sum())"]),
              rng.choice([f"        count += len({yb})", f"        count += {yb}.numel()"])]
    if "sched" in lines[2]:
        lines.append("    sched.step()")
    lines += ['    history["loss"].append(total / count)', '    history["accuracy"].append(hits / count)',
              rng.choice(['    print(epoch, history["loss"][-1], history["accuracy"][-1])',
                          '    print(f"epoch {epoch}: {total / count:.4f} {hits / count:.4f}")'])]
    return "\n".join(lines)


def _plot(rng: random.Random) -> str:
    return rng.choice([
        'fig, axes = plt.subplots(1, 2, figsize=(9, 3))\nfor ax, key in zip(axes, ["loss", "accuracy"]):\n'
        '    ax.plot(history[key])\n    ax.set_title(key)\nplt.show()',
        'plt.plot(history["loss"], label="loss")\nplt.plot(history["accuracy"], label="accuracy")\n'
        'plt.legend()\nplt.xlabel("epoch")\nplt.show()',
        f'plt.figure(figsize=({rng.randint(4, 10)}, {rng.randint(3, 6)}))\nfor k, v in history.items():\n'
        '    plt.plot(range(1, len(v) + 1), v, marker="o", label=k)\nplt.grid(True)\nplt.legend()\nplt.show()',
    ])


def _evaluation(rng: random.Random) -> str:
    size = rng.choice([256, 500, 1000, 2000])
    return rng.choice([
        "model.eval()\nwith torch.no_grad():\n"
        f"    pred = torch.cat([model(x_test[i:i + {size}].to(device)).argmax(1).cpu()"
        f" for i in range(0, len(x_test), {size})])\nacc = (pred == y_test).float().mean().item()\n"
        'print(f"Test accuracy: {acc:.4f}")',
        f"model.eval()\nright = 0\nwith torch.no_grad():\n    for s in range(0, len(x_test), {size}):\n"
        f"        guess = model(x_test[s:s + {size}].to(device)).argmax(dim=1).cpu()\n"
        f"        right += (guess == y_test[s:s + {size}]).sum().item()\nacc = right / len(x_test)\n"
        'print(f"Test accuracy: {acc:.4f}")',
    ])


def _expression(rng: random.Random, depth: int = 0) -> str:
    """A random expression: students' own checks, shapes and prints differ in structure, not just names."""
    leaf = rng.random() < 0.3 + 0.25 * depth
    if leaf:
        return rng.choice([_name(rng), str(rng.randint(0, 999)), f"{rng.random():.2f}", "x_test", "history"])
    kind = rng.randrange(5)
    a = _expression(rng, depth + 1)
    if kind == 0:
        return f"({a} {rng.choice(['+', '-', '*', '/', '//', '%', '**'])} {_expression(rng, depth + 1)})"
    if kind == 1:
        fn = rng.choice(["torch.mean", "torch.std", "np.max", "len", "abs", "round", "torch.tensor", "float"])
        return f"{fn}({a})"
    if kind == 2:
        return f"{a}[{rng.randint(0, 9)}:{rng.choice(['', str(rng.randint(10, 99))])}]"
    if kind == 3:
        method = rng.choice(["sum", "mean", "item", "numpy", "float", "view", "size"])
        return f"{a}.{method}({rng.choice(['', '1', '-1'])})"
    return f"[{a} for {_name(rng)} in range({rng.randint(2, 20)})]"


def _extras(rng: random.Random) -> str:
    """A few top-level statements of the student's own: checks, prints, small loops."""
    lines = []
    for _ in range(rng.randint(2, 5)):
        form = rng.randrange(4)
        if form == 0:
            lines.append(f"{_name(rng)} = {_expression(rng)}")
        elif form == 1:
            lines.append(f"print({_expression(rng)}, {_expression(rng)})")
        elif form == 2:
            lines.append(f"for {_name(rng)} in range({rng.randint(1, 9)}):\n    {_name(rng)} = {_expression(rng)}")
        else:
            lines.append(f"if {_expression(rng)} > {rng.randint(0, 99)}:\n    print({_expression(rng)})")
    return "\n".join(lines)


def student(rng: random.Random) -> dict[int, str]:
    cells = {7: _softmax(rng), 8: _cross_entropy(rng), 11: _model(rng), 13: _training(rng), 14: _plot(rng),
             16: _evaluation(rng)}
    return {index: source + "\n\n" + _extras(rng) for index, source in cells.items()}


def disguised(cells: dict[int, str], rng: random.Random) -> dict[int, str]:
    """A copy: local names renamed, comments and blank lines added."""
    renames = {n: f"{n}_{rng.choice(['mine', 'v2', 'k'])}" for n in ("total", "hits", "count", "order", "sel", "right",
                                                                      "guess", "pred", "loader", "sched")}
    out = {}
    for index, source in cells.items():
        for old, new in renames.items():
            source = re.sub(rf"\b{old}\b", new, source)
        out[index] = f"# {rng.choice(['my solution', 'step', 'TODO done'])}\n" + source.replace("\n\n", "\n\n\n")
    return out


def write_notebooks(folder: Path, n: int, copies: int, seed: int) -> tuple[list[Submission], set[tuple[str, str]]]:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    template = nbformat.read(TEMPLATE, as_version=4)
    sources = [student(rng) for _ in range(n - copies)]
    planted = set()
    for c in range(copies):
        original = rng.randrange(len(sources))
        sources.append(disguised(sources[original], rng))
        planted.add((str(original + 1), str(len(sources))))
    subs = []
    for i, cells in enumerate(sources, 1):
        nb = nbformat.from_dict(template)
        for index, source in cells.items():
            nb.cells[index].source = source
        if rng.random() < 0.5:   # some students move cells around
            nb.cells[7], nb.cells[8] = nb.cells[8], nb.cells[7]
        path = folder / f"{i}.ipynb"
        nbformat.write(nb, path)
        subs.append(Submission("mnist_cnn", str(i), f"Student {i}", str(folder), (path,), path, None))
    return subs, planted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        subs, planted = write_notebooks(Path(tmp) / "in", args.n, args.copies, args.seed)
        out = Path(tmp) / "out"
        course = single_practical_course("mnist_cnn", [Path(tmp)], Path(tmp), out)
        started, cpu = time.perf_counter(), time.process_time()
        report = run_similarity(course, out, {"mnist_cnn": subs})
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    found = {(p.participant_a, p.participant_b) for p in report.flagged}
    pairs = args.n * (args.n - 1) // 2
    # CPU time too: on a shared machine the wall clock also measures the neighbours
    print(f"{args.n} submissions, {pairs} pairs: {seconds:.1f} s wall, {cpu:.1f} s CPU (limit {LIMIT_S:.0f} s); "
          f"{len(report.flagged)} pairs flagged at {course.similarity.threshold}, "
          f"{len(planted & found)}/{len(planted)} planted copies found")
    return 0 if seconds < LIMIT_S and planted <= found else 1


if __name__ == "__main__":
    sys.exit(main())
