"""Wrong preprocess and topk_accuracy that students write, and what the point table takes from each.

preprocess 2 = 1.5 on colour images + 0.5 "greyscale images turned into RGB": a pipeline right on colour
but unable to make three channels of a greyscale image loses exactly 0.5, one that gets colour wrong but
greyscale right (BGR, everything through greyscale) exactly 1.5, any other mistake all 2. topk_accuracy
2: every mistake below, all 2. Written as a student would, with PIL, numpy and torch.
tests/test_mutants.py proves every loss for 20 seeds; ``python -m grader.mutants assignments/imagenet_cnn``.
"""
import numpy as np
import torch
from PIL import Image

from grader.mutants import mutant

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def _resized(image, short=256):
    width, height = image.size
    scale = short / min(width, height)
    return image.resize((round(width * scale), round(height * scale)), Image.BILINEAR)


def _centre(image, size=224):
    width, height = image.size
    left, top = (width - size) // 2, (height - size) // 2
    return image.crop((left, top, left + size, top + size))


def _tensor(pixels):
    """[H, W, 3] floats in [0, 1] -> normalised [3, H, W]."""
    return torch.from_numpy(((pixels - MEAN) / STD).astype(np.float32)).permute(2, 0, 1).contiguous()


def _unit(image):
    return np.asarray(image, dtype=np.float32) / 255.0


@mutant("preprocess", "2")
def preprocess_without_normalisation(image):
    """Pixels in [0, 1], never normalised with ImageNet's mean and std."""
    pixels = _unit(_centre(_resized(image.convert("RGB"))))
    return torch.from_numpy(pixels).permute(2, 0, 1).contiguous()


@mutant("preprocess", "2")
def preprocess_without_centre_crop(image):
    """Resized straight to 224 x 224: squashed, and zoomed out by 256/224. No image is near square."""
    return _tensor(_unit(image.convert("RGB").resize((224, 224), Image.BILINEAR)))


@mutant("preprocess", "2")
def preprocess_cropping_the_corner(image):
    """Crops the top-left 224 x 224 instead of the centre."""
    return _tensor(_unit(_resized(image.convert("RGB")).crop((0, 0, 224, 224))))


@mutant("preprocess", "2")
def preprocess_resizing_the_longer_side(image):
    """The longer side to 256: the shorter one ends below 224 and the crop pads it with black."""
    image = image.convert("RGB")
    width, height = image.size
    scale = 256 / max(width, height)
    return _tensor(_unit(_centre(image.resize((round(width * scale), round(height * scale)), Image.BILINEAR))))


@mutant("preprocess", "2")
def preprocess_resizing_the_shorter_side_to_224(image):
    """Shorter side to 224, not 256, then the crop: the whole image zoomed out by 224/256, the mildest
    geometry error here (block means ~0.13 or more from the reference's, against a tolerance of 0.12)."""
    return _tensor(_unit(_centre(_resized(image.convert("RGB"), short=224))))


@mutant("preprocess", "2")
def preprocess_squashing_to_256(image):
    """Resize to 256 x 256 ignoring the aspect ratio, then the centre crop."""
    return _tensor(_unit(_centre(image.convert("RGB").resize((256, 256), Image.BILINEAR))))


@mutant("preprocess", "2")
def preprocess_with_mean_and_std_swapped(image):
    """(x - std) / mean: the two lists of constants in each other's place."""
    pixels = _unit(_centre(_resized(image.convert("RGB"))))
    return torch.from_numpy(((pixels - STD) / MEAN).astype(np.float32)).permute(2, 0, 1).contiguous()


@mutant("preprocess", "2")
def preprocess_in_0_255(image):
    """Normalised, but from 0..255 pixel values: never divided by 255."""
    pixels = np.asarray(_centre(_resized(image.convert("RGB"))), dtype=np.float32)
    return _tensor(pixels)


@mutant("preprocess", "2")
def preprocess_with_integer_division(image):
    """uint8 // 255: every pixel becomes 0 (or 1 for pure white) before the normalisation."""
    pixels = np.asarray(_centre(_resized(image.convert("RGB")))) // 255
    return _tensor(pixels.astype(np.float32))


@mutant("preprocess", "2")
def preprocess_height_width_swapped(image):
    """permute(2, 1, 0) instead of (2, 0, 1): [3, W, H], the same shape for a square crop, transposed."""
    pixels = _unit(_centre(_resized(image.convert("RGB"))))
    return torch.from_numpy(((pixels - MEAN) / STD).astype(np.float32)).permute(2, 1, 0).contiguous()


@mutant("preprocess", "2")
def preprocess_channels_last(image):
    """Returns [224, 224, 3] (PIL's order) instead of [3, 224, 224]."""
    pixels = _unit(_centre(_resized(image.convert("RGB"))))
    return torch.from_numpy(((pixels - MEAN) / STD).astype(np.float32))


@mutant("preprocess", "1.5", exact=True)
def preprocess_in_bgr(image):
    """Channels reversed (OpenCV's BGR) before the normalisation: only a grey image, whose channels are
    equal, comes out right. Loses the colour images, 1.5, and keeps the greyscale part."""
    pixels = _unit(_centre(_resized(image.convert("RGB"))))[:, :, ::-1]
    return _tensor(np.ascontiguousarray(pixels))


@mutant("preprocess", "1.5", exact=True)
def preprocess_everything_through_greyscale(image):
    """convert("L") then three copies: right for greyscale images only. Loses the colour images, 1.5."""
    grey = _unit(_centre(_resized(image.convert("L"))))
    return _tensor(np.repeat(grey[:, :, None], 3, axis=2))


@mutant("preprocess", "0.5", exact=True)
def preprocess_without_greyscale_to_rgb(image):
    """No convert("RGB"): a greyscale image gives [224, 224] pixels and the permute fails. Loses 0.5."""
    pixels = _unit(_centre(_resized(image)))
    return _tensor(pixels)


@mutant("topk_accuracy", "2")
def topk_with_k_plus_one(logits, targets, k):
    """topk(k + 1): counts the row whose target is ranked just after the top k."""
    top = logits.topk(int(k) + 1, dim=1).indices
    return (top == targets[:, None]).any(dim=1).float().mean().item()


@mutant("topk_accuracy", "2")
def topk_with_k_minus_one(logits, targets, k):
    """topk(k - 1): misses the row whose target is ranked k-th."""
    top = logits.topk(int(k) - 1, dim=1).indices
    return (top == targets[:, None]).any(dim=1).float().mean().item()


@mutant("topk_accuracy", "2")
def topk_as_a_percentage(logits, targets, k):
    """100 times the fraction: every case's accuracy lies strictly between 0 and 1."""
    top = logits.topk(int(k), dim=1).indices
    return 100.0 * (top == targets[:, None]).any(dim=1).float().mean().item()


@mutant("topk_accuracy", "2")
def topk_counting_hits(logits, targets, k):
    """The number of rows with a hit, not the fraction; every case has several rows and at least one hit."""
    top = logits.topk(int(k), dim=1).indices
    return int((top == targets[:, None]).any(dim=1).sum())


@mutant("topk_accuracy", "2")
def topk_with_integer_division(logits, targets, k):
    """hits // rows: 0 unless every row hits, and every case has a miss."""
    top = logits.topk(int(k), dim=1).indices
    return int((top == targets[:, None]).any(dim=1).sum()) // len(targets)


@mutant("topk_accuracy", "2")
def topk_ignoring_k(logits, targets, k):
    """Top-1 whatever k is: every case has k >= 2 and a hit at rank k - 1."""
    return (logits.argmax(dim=1) == targets).float().mean().item()


@mutant("topk_accuracy", "2")
def topk_averaging_over_the_k_columns(logits, targets, k):
    """(top == targets[:, None]).float().mean() over [N, k]: the accuracy divided by k."""
    top = logits.topk(int(k), dim=1).indices
    return (top == targets[:, None]).float().mean().item()


@mutant("topk_accuracy", "2")
def topk_without_unsqueezing_the_targets(logits, targets, k):
    """top == targets compares [N, k] with [N]: fails to broadcast (no case has rows = k)."""
    top = logits.topk(int(k), dim=1).indices
    return (top == targets).any(dim=1).float().mean().item()


@mutant("topk_accuracy", "2")
def topk_of_the_smallest_logits(logits, targets, k):
    """np.argsort(logits)[:, :k]: the k smallest; classes > 3k, so they never hold a target."""
    top = np.argsort(np.asarray(logits), axis=1)[:, :int(k)]
    return float((top == np.asarray(targets)[:, None]).any(axis=1).mean())


@mutant("topk_accuracy", "2")
def topk_over_the_batch_axis(logits, targets, k):
    """topk along dim=0: for each class, the k rows that score it highest."""
    top = logits.topk(int(k), dim=0).indices.T
    return (top == targets[:, None]).any(dim=1).float().mean().item()
