"""The temperature check's statistics and kernel cost, by simulation: prints markdown tables for the README.

    .venv/bin/python benchmarks/temperature_test.py [--gradings 20000] [--judged 300] [--no-timing]

1. False fails of the G test (a generate that honours T, p_T proportional to p_1^(1/T)) over ``--gradings``
   simulated gradings per shape of p_1, against the chi-square bound the assignment states.
2. "The draws change" for a generate that honours T on flatter and flatter models (the only way a right
   generate can fail it), over ``--judged`` gradings each.
3. Power: how often samplers that misuse T lose the points, over ``--judged`` gradings each.
4. Kernel cost: generate calls per grading, and their time for the solution's LSTM and the Keras GRU.
Draws, temperatures and the level come from assignments/rnn_text/assignment.toml.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import chi2

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from grader.assignment import load_assignment  # noqa: E402
from grader.checks.temperature import READ_LENGTH  # noqa: E402
from grader.checks.tempering import fit, judge, pooled_g, tempered  # noqa: E402
from test_tempering import SHAPES, TRAINED  # noqa: E402
from test_tempering import WRONG as TEST_WRONG  # noqa: E402

SPEC = load_assignment(REPO / "assignments" / "rnn_text").check("temperature").options
TEMPERATURES = (1.0, *(float(t) for t in SPEC["temperatures"]))
DRAWS = SPEC["draws"]
LEVEL = float(SPEC["false_failure"])
SIMULATED = {**SHAPES, "uniform": np.zeros(65)}
# the temperature each wrong sampler of the tests really uses, at the assignment's temperatures
WRONG = {name: tuple(used(t) for t in TEMPERATURES) for name, used in TEST_WRONG.items()}


def draws(rng: np.random.Generator, logits: np.ndarray, used: tuple[float, ...]) -> np.ndarray:
    return np.stack([rng.multinomial(DRAWS, p) for p in tempered(logits, 1.0 / np.array(used))])


def g_p_value(counts: np.ndarray) -> float:
    counts = counts[:, counts.sum(axis=0) > 0].astype(np.float64)
    inverse = 1.0 / np.array(TEMPERATURES)
    z = fit(counts, inverse)
    g, df, _ = pooled_g(counts, tempered(z, inverse), z)
    return float(chi2.sf(g, df))


def false_fails(gradings: int) -> None:
    print(f"\n| p_1 ({gradings:,} gradings each) | below 1e-2 | below 1e-3 | below 1e-4 | smallest p "
          f"| fails at {LEVEL:g} |")
    print("|---|---|---|---|---|---|")
    for number, (name, logits) in enumerate(SIMULATED.items()):
        rng = np.random.default_rng(100 + number)
        p = np.array([g_p_value(draws(rng, logits, TEMPERATURES)) for _ in range(gradings)])
        print(f"| {name} | {np.mean(p < 1e-2):.4f} | {np.mean(p < 1e-3):.5f} | {np.mean(p < 1e-4):.5f} | "
              f"{p.min():.2g} | {int(np.sum(p < LEVEL))} |", flush=True)


def change_on_flat_models(judged: int) -> None:
    noise = np.random.default_rng(7).standard_normal(65)
    print(f"\n| logits' spread (sd) of a model, generate honouring T "
          f"| fails \"the draws change\" ({judged} gradings) |")
    print("|---|---|")
    for spread in (0.003, 0.004, 0.005, 0.006, 0.008, 0.011, 0.05):
        rng = np.random.default_rng(int(spread * 1e4))
        failed = sum(not judge(draws(rng, spread * noise, TEMPERATURES), TEMPERATURES, LEVEL).changes
                     for _ in range(judged))
        print(f"| {spread} | {failed}/{judged} |", flush=True)


def power(judged: int) -> None:
    shapes = {"trained (entropy 3.05)": TRAINED, "peaked (top 0.91)": SHAPES["peaked"],
              "random-init LSTM": SHAPES["random-init LSTM"], "flat (Keras GRU at its start)": SHAPES["flat"]}
    print(f"\n| sampler (loses the points in ... of {judged} gradings) | " + " | ".join(shapes) + " |")
    print("|---|" + "---|" * len(shapes))
    for wrong, used in WRONG.items():
        cells = []
        for number, logits in enumerate(shapes.values()):
            rng = np.random.default_rng(200 + number)
            lost = sum(not (v.changes and v.follows) for v in
                       (judge(draws(rng, logits, used), TEMPERATURES, LEVEL) for _ in range(judged)))
            cells.append(f"{lost}/{judged}")
        print(f"| {wrong} | " + " | ".join(cells) + " |", flush=True)


def timing() -> None:
    """generate(prompt, 2, T) as the solutions write it, on their untrained models (the cost does not
    depend on training): the torch LSTM (hidden 256) and the Keras GRU (hidden 256)."""
    import os

    import torch
    from torch import nn

    torch.set_num_threads(1)
    calls = len(TEMPERATURES) * DRAWS
    prompt = [int(i) for i in np.random.default_rng(0).integers(0, 65, 30)]
    embedding, lstm, head = nn.Embedding(65, 64), nn.LSTM(64, 256, batch_first=True), nn.Linear(256, 65)

    @torch.no_grad()
    def torch_generate(temperature: float) -> None:
        out, state = lstm(embedding(torch.tensor([prompt])))
        logits = head(out)
        for _ in range(READ_LENGTH):
            i = int(torch.multinomial(torch.softmax(logits[0, -1] / temperature, dim=0), 1))
            out, state = lstm(embedding(torch.tensor([[i]])), state)
            logits = head(out)

    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    from keras import layers

    inputs = keras.Input(shape=(None,), dtype="int64")
    model = keras.Model(inputs, layers.Dense(65)(layers.GRU(256, return_sequences=True)(
        layers.Embedding(65, 64)(inputs))))

    def keras_generate(temperature: float) -> None:
        ids = list(prompt)
        for _ in range(READ_LENGTH):
            logits = np.asarray(model.predict_on_batch(np.array([ids], dtype="int64")))[0, -1] / temperature
            p = np.exp(logits - logits.max())
            ids.append(int(np.random.choice(65, p=p / p.sum())))

    print("\n| generate | calls per grading | seconds per grading |\n|---|---|---|")
    for name, generate in (("torch LSTM, hidden 256", torch_generate), ("Keras GRU, hidden 256", keras_generate)):
        generate(1.0)
        started = time.perf_counter()
        for _ in range(100):
            generate(1.0)
        print(f"| {name} | {calls} of generate(prompt, {READ_LENGTH}, T) | "
              f"{calls * (time.perf_counter() - started) / 100:.1f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gradings", type=int, default=20_000)
    parser.add_argument("--judged", type=int, default=300)
    parser.add_argument("--no-timing", action="store_true")
    args = parser.parse_args()
    print(f"temperatures {TEMPERATURES}, {DRAWS} draws each, level {LEVEL:g}")
    false_fails(args.gradings)
    change_on_flat_models(args.judged)
    power(args.judged)
    if not args.no_timing:
        timing()


if __name__ == "__main__":
    main()
