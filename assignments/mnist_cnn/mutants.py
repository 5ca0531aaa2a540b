"""Wrong softmax and cross_entropy that students write, and what the point table takes from each.

softmax 1.5 = 1 on ordinary logits + 0.5 "stable with logits of ±1000"; cross_entropy the same.
A function right on ordinary logits but unstable loses exactly the 0.5; any other mistake, all 1.5.
Written as a student would, in torch on the float32 tensors the probe passes.
tests/test_mutants.py proves every loss for 20 seeds; ``python -m grader.mutants assignments/mnist_cnn``.
"""
import math

import torch

from grader.mutants import mutant


@mutant("softmax", "0.5", exact=True)
def softmax_without_max_shift(logits):
    """exp(x) / sum exp(x): overflows to inf/inf = nan on ±1000 logits. Correct but unstable: 0.5 off."""
    e = torch.exp(logits)
    return e / e.sum(dim=1, keepdim=True)


@mutant("softmax", "0.5", exact=True)
def softmax_shifted_by_the_array_maximum(logits):
    """x - x.max() without dim: rows topping 2000 below the array's maximum underflow to 0/0. 0.5 off."""
    e = torch.exp(logits - logits.max())
    return e / e.sum(dim=1, keepdim=True)


@mutant("softmax", "1.5")
def softmax_over_the_wrong_axis(logits):
    """Normalises each column (dim=0): wrong on every input with more than one row. All 1.5 off."""
    e = torch.exp(logits - logits.max(dim=0, keepdim=True).values)
    return e / e.sum(dim=0, keepdim=True)


@mutant("softmax", "1.5")
def softmax_over_the_whole_batch(logits):
    """One softmax over all rows together: right only for a single row, and no case has one. All off."""
    e = torch.exp(logits - logits.max())
    return e / e.sum()


@mutant("softmax", "1.5")
def softmax_sum_without_keepdim(logits):
    """[N, C] / [N]: broadcasting fails (or divides the wrong way) unless N == C, and no case has N == 10."""
    e = torch.exp(logits - logits.max(dim=1, keepdim=True).values)
    return e / e.sum(dim=1)


@mutant("softmax", "1.5")
def softmax_returning_log_probabilities(logits):
    """Returns log_softmax: the right numbers in the wrong space. All 1.5 off."""
    return torch.log_softmax(logits, dim=1)


@mutant("softmax", "1.5")
def softmax_not_normalised(logits):
    """exp(x - max) without the division: rows do not sum to 1. All 1.5 off."""
    return torch.exp(logits - logits.max(dim=1, keepdim=True).values)


@mutant("cross_entropy", "0.5", exact=True)
def cross_entropy_as_log_of_softmax(logits, targets):
    """log(softmax(x)) with a stable softmax: a probability that underflows to 0 gives -log 0 = inf. 0.5 off."""
    e = torch.exp(logits - logits.max(dim=1, keepdim=True).values)
    p = e / e.sum(dim=1, keepdim=True)
    return -torch.log(p[torch.arange(len(targets)), targets]).mean()


@mutant("cross_entropy", "0.5", exact=True)
def cross_entropy_without_max_shift(logits, targets):
    """log(sum(exp(x))) - x[target] without the shift: exp overflows to inf on ±1000 logits. 0.5 off."""
    logsumexp = torch.log(torch.exp(logits).sum(dim=1))
    return (logsumexp - logits[torch.arange(len(targets)), targets]).mean()


@mutant("cross_entropy", "0.5", exact=True)
def cross_entropy_shifted_by_the_array_maximum(logits, targets):
    """logsumexp shifted by the array's maximum, not each row's: rows 2000 below it give log 0. 0.5 off."""
    m = logits.max()
    logsumexp = m + torch.log(torch.exp(logits - m).sum(dim=1))
    return (logsumexp - logits[torch.arange(len(targets)), targets]).mean()


@mutant("cross_entropy", "1.5")
def cross_entropy_by_pytorchs_own_loss(logits, targets):
    """F.cross_entropy, which the statement forbids: the right numbers, not the student's. All 1.5 off."""
    from torch.nn import functional

    return functional.cross_entropy(logits, targets.long())


@mutant("cross_entropy", "1.5")
def cross_entropy_through_the_loss_module(logits, targets):
    """nn.CrossEntropyLoss, forbidden as well (it calls F.cross_entropy). All 1.5 off."""
    return torch.nn.CrossEntropyLoss()(logits, targets.long())


@mutant("cross_entropy", "1.5")
def cross_entropy_summed_over_rows(logits, targets):
    """The sum over the batch, not the mean: N times too large, and every case has several rows."""
    logp = torch.log_softmax(logits, dim=1)
    return -logp[torch.arange(len(targets)), targets].sum()


@mutant("cross_entropy", "1.5")
def cross_entropy_over_the_wrong_axis(logits, targets):
    """log_softmax over dim=0 (each class across the batch). All 1.5 off."""
    logp = torch.log_softmax(logits, dim=0)
    return -logp[torch.arange(len(targets)), targets].mean()


@mutant("cross_entropy", "1.5")
def cross_entropy_without_the_minus(logits, targets):
    """The mean log-probability of the targets, not its negative: a negative loss. All 1.5 off."""
    logp = torch.log_softmax(logits, dim=1)
    return logp[torch.arange(len(targets)), targets].mean()


@mutant("cross_entropy", "1.5")
def cross_entropy_in_bits(logits, targets):
    """log2 instead of the natural log: off by a factor ln 2. All 1.5 off."""
    logp = torch.log_softmax(logits, dim=1) / math.log(2)
    return -logp[torch.arange(len(targets)), targets].mean()


@mutant("cross_entropy", "1.5")
def cross_entropy_averaged_over_classes_too(logits, targets):
    """One-hot times log-probabilities averaged over N x C entries, not N: C times too small."""
    logp = torch.log_softmax(logits, dim=1)
    one_hot = torch.nn.functional.one_hot(targets, logits.shape[1]).to(logp.dtype)
    return -(one_hot * logp).mean()


@mutant("cross_entropy", "1.5")
def cross_entropy_picking_whole_columns(logits, targets):
    """logp[:, targets]: for every row the targets of all rows, an N x N mean. Targets are never all equal."""
    logp = torch.log_softmax(logits, dim=1)
    return -logp[:, targets].mean()
