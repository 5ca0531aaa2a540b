"""The char-RNN practical's reference LSTM and its training under the students' budget (torch): what
``rnn_text.build_reference`` measures, in the process that builds the reference, never in the grader's own.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from reference.rnn_text import EMBEDDING_SIZE, Split, encode


class CharLSTM(nn.Module):
    """Embedding -> LSTM -> linear: ids [N, T] int64 -> logits [N, T, V]."""

    def __init__(self, vocab_size: int, hidden_size: int, embedding_size: int = EMBEDDING_SIZE) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_size)
        self.lstm = nn.LSTM(embedding_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.embedding(ids))
        return self.head(out)


def random_batch(ids: torch.Tensor, batch_size: int, seq_len: int, generator: torch.Generator):
    """``batch_size`` random windows of the training ids and the same windows shifted by one."""
    starts = torch.randint(0, len(ids) - seq_len - 1, (batch_size,), generator=generator)
    x = torch.stack([ids[s:s + seq_len] for s in starts.tolist()])
    y = torch.stack([ids[s + 1:s + seq_len + 1] for s in starts.tolist()])
    return x, y


def train_reference(split: Split, params: dict, device: str = "cpu") -> CharLSTM:
    """Train CharLSTM under the grading budget (steps, hidden_size, seq_len, batch_size, seed); Adam."""
    seed = int(params.get("seed", 0))
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    train_ids = torch.from_numpy(encode(split.train, split.vocabulary))
    model = CharLSTM(len(split.vocabulary), int(params.get("hidden_size", 256))).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=float(params.get("lr", 3e-3)))
    batch_size, seq_len = int(params.get("batch_size", 64)), int(params.get("seq_len", 100))
    model.train()
    for _ in range(int(params.get("steps", 150))):
        x, y = random_batch(train_ids, batch_size, seq_len, generator)
        logits = model(x.to(device))
        loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.to(device).reshape(-1))
        optimiser.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
    model.eval()
    return model


@torch.no_grad()
def held_out_cross_entropy(model: nn.Module, inputs: np.ndarray, targets: np.ndarray, device: str = "cpu",
                           batch_size: int = 64) -> float:
    """Mean nats per character of ``model`` on held-out windows, in float64."""
    model.eval()
    total, count = 0.0, 0
    for start in range(0, len(inputs), batch_size):
        logits = model(torch.from_numpy(inputs[start:start + batch_size]).to(device)).double().cpu()
        target = torch.from_numpy(targets[start:start + batch_size])
        total += float(nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                                                   reduction="sum"))
        count += target.numel()
    return total / count
