"""The MNIST practical's reference CNN and its training under the students' budget (torch): what
``mnist_cnn.build_reference`` measures, in the process that builds the reference, never in the grader's own.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from reference.mnist_cnn import N_CLASSES, Split, to_model_input


class ReferenceCNN(nn.Module):
    """conv32-pool-conv64-pool-fc128-fc10; [N, 1, 28, 28] in [0, 1] -> [N, 10] logits."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, N_CLASSES),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # MNIST's mean and std: normalisation belongs to the model, so callers pass raw [0, 1] pixels.
        return self.classifier(self.features((x - 0.1307) / 0.3081))


def train_reference(split: Split, params: dict, device: str = "cpu") -> tuple[nn.Module, dict]:
    """Train ReferenceCNN under the students' budget; metrics on the held-out split."""
    seed = int(params.get("seed", 0))
    torch.manual_seed(seed)
    n = min(int(params.get("train_size", len(split.train_images))), len(split.train_images))
    x = torch.from_numpy(to_model_input(split.train_images[:n]))
    y = torch.from_numpy(split.train_labels[:n].astype(np.int64))
    model = ReferenceCNN().to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=float(params.get("lr", 1e-3)))
    batch_size = int(params.get("batch_size", 64))
    generator = torch.Generator().manual_seed(seed)
    for _ in range(int(params.get("epochs", 2))):
        model.train()
        for idx in torch.randperm(n, generator=generator).split(batch_size):
            optimiser.zero_grad()
            loss = nn.functional.cross_entropy(model(x[idx].to(device)), y[idx].to(device))
            loss.backward()
            optimiser.step()
    predictions = predict(model, to_model_input(split.eval_images), device)
    accuracy = float(np.mean(predictions == split.eval_labels)) if len(predictions) else 0.0
    return model, {"accuracy": accuracy}


@torch.no_grad()
def predict(model: nn.Module, images: np.ndarray, device: str = "cpu", batch_size: int = 500) -> np.ndarray:
    """Predicted classes (int64) for model-ready images, in batches."""
    model.eval()
    out = [model(torch.from_numpy(images[i:i + batch_size]).to(device)).argmax(1).cpu()
           for i in range(0, len(images), batch_size)]
    return torch.cat(out).numpy().astype(np.int64) if out else np.zeros(0, dtype=np.int64)
