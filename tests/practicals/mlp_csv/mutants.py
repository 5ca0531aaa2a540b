"""Wrong `relu`s students write, and what the point table takes from each (tests/test_outside_practical.py;
`grader practical check tests/practicals/mlp_csv`)."""
import torch

from grader.mutants import mutant


@mutant("relu", "2", exact=True)
def relu_returns_its_input(z):
    """No clamping at all: wrong wherever an input is negative, and every case has some. All 2 off."""
    return torch.as_tensor(z)


@mutant("relu", "2", exact=True)
def relu_of_the_absolute_value(z):
    """|z|: negative inputs come out positive. All 2 off."""
    return torch.as_tensor(z).abs()
