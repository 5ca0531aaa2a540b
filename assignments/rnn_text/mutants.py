"""Wrong char-RNN code that students write, and what the point table (assignment.toml) takes from each.

``STUDENT`` is a right student: the contract's vocabulary, a bigram model (an ``nn.Embedding`` whose rows are
the log-frequencies of the next character, trained by counting), ``sample`` from softmax(logits / T) and a
``generate`` that draws with it. Each mutant below edits her source as a student would get it wrong; the
table names every check the defect costs (``also``), and tests/test_mutants.py proves, for several seeds, that
those checks lose exactly that and that no other check pays for the same defect.
``python -m grader.mutants assignments/rnn_text 5 --data ../shared/data`` prints the table.
"""
from grader.mutants import edit, mutant

STUDENT = '''
from pathlib import Path

import torch
from torch import nn

text = (Path(data_dir) / "train.txt").read_text(encoding="utf-8")
chars = sorted(set(text))
stoi = {c: i for i, c in enumerate(chars)}
itos = {i: c for i, c in enumerate(chars)}


def encode(s):
    return [stoi[c] for c in s]


def decode(ids):
    return "".join(itos[int(i)] for i in ids)


class Bigram(nn.Module):
    """The logits of the next character: the log-frequency of each character after the last one."""

    def __init__(self, ids, size):
        super().__init__()
        self.table = nn.Embedding(size, size)
        counts = torch.ones(size, size)
        counts.index_put_((ids[:-1], ids[1:]), torch.ones(len(ids) - 1), accumulate=True)
        with torch.no_grad():
            self.table.weight.copy_(torch.log(counts / counts.sum(dim=1, keepdim=True)))

    def forward(self, ids):
        return self.table(ids)


model = Bigram(torch.tensor(encode(text)), len(chars))


def sample(logits, temperature=1.0):
    probs = torch.softmax(torch.as_tensor(logits, dtype=torch.float32) / temperature, dim=-1)
    return int(torch.multinomial(probs, 1))


@torch.no_grad()
def generate(prompt, length, temperature=1.0):
    out = prompt
    for _ in range(length):
        logits = model(torch.tensor([encode(out)]))[0, -1]
        out += itos[sample(logits, temperature)]
    return out
'''


@mutant("sample", "1", exact=True, also={"temperature": "1.5"}, edits=True)
def sample_ignoring_temperature(source):
    """softmax(logits), never divided by T: right at T = 1 only, 1 of the sample check's 3 temperatures
    (0.5 of 1.5 kept); generate draws with it, so its draws ignore T too: temperature 0 (the table's
    sampler_check row)."""
    return edit(source, "dtype=torch.float32) / temperature", "dtype=torch.float32)")


@mutant("sample", "1.5", exact=True, also={"temperature": "1.5"}, edits=True)
def sample_taking_the_most_likely(source):
    """argmax instead of a draw: wrong at every temperature; generate writes the same character at every
    T, so temperature changes nothing: 0 there too."""
    return edit(source, "return int(torch.multinomial(probs, 1))", "return int(torch.argmax(probs))")


@mutant("sample", "1", exact=True, also={"temperature": "1.5"}, edits=True)
def sample_multiplying_by_temperature(source):
    """logits * T: right at T = 1 only (0.5 of 1.5 kept); generate's draws spread out below T = 1 and gather
    above it, the wrong way round: temperature 0."""
    return edit(source, "dtype=torch.float32) / temperature", "dtype=torch.float32) * temperature")


@mutant("temperature", "1.5", exact=True, edits=True)
def generate_ignoring_temperature(source):
    """generate draws at T = 1 whatever it is asked; sample itself is right, so only temperature pays."""
    return edit(source, "sample(logits, temperature)", "sample(logits, 1.0)")


@mutant("temperature", "1.5", exact=True, edits=True)
def generate_ignoring_temperature_below_one(source):
    """max(T, 1): honoured above 1 only; the draws at T = 0.01 are those of T = 1."""
    return edit(source, "sample(logits, temperature)", "sample(logits, max(temperature, 1.0))")


@mutant("temperature", "1.5", exact=True, edits=True)
def generate_ignoring_temperature_above_one(source):
    """min(T, 1): honoured below 1 only; the draws at T = 5 are those of T = 1, which the fit of one
    tempered distribution to every temperature's draws tells apart (the subtlest case the test has)."""
    return edit(source, "sample(logits, temperature)", "sample(logits, min(temperature, 1.0))")


@mutant("temperature", "1.5", exact=True, edits=True)
def generate_never_tempering(source):
    """The most likely character below T = 1, any character alike above it, a draw at T = 1: no temperature
    anywhere. At T = 0.01 and 5 that is what tempering gives (p^100 is an argmax, p^0.2 nearly flat); at
    T = 0.5 the draws should be p^2, not an argmax, which the fit tells apart."""
    return edit(source, "out += itos[sample(logits, temperature)]",
                "out += itos[int(logits.argmax()) if temperature < 1 else "
                "sample(torch.zeros_like(logits), 1.0) if temperature > 1 else sample(logits, 1.0)]")


@mutant("generate", "0.33", exact=True, edits=True)
def generate_without_the_prompt(source):
    """Returns the new characters only: the prompt third of generate; temperature reads them alone."""
    source = edit(source, "    out = prompt\n", "    out = ''\n")
    return edit(source, "model(torch.tensor([encode(out)]))", "model(torch.tensor([encode(prompt + out)]))")


@mutant("generate", "0.33", exact=True, edits=True)
def generate_short_by_one(source):
    """range(length - 1): one character too few, the length third; temperature reads the first it gives."""
    return edit(source, "for _ in range(length):", "for _ in range(length - 1):")


@mutant("roundtrip", "1", exact=True, edits=True)
def own_vocabulary_order(source):
    """sorted(..., reverse=True): her own numbering, consistent everywhere; the round trip's ids are not the
    contract's (all 4 texts fail); cross_entropy reads her numbering, temperature only characters."""
    return edit(source, "chars = sorted(set(text))", "chars = sorted(set(text), reverse=True)")


@mutant("roundtrip", "1", exact=True, edits=True)
def decode_dropping_the_first_id(source):
    """ids[1:]: decode(encode(text)) loses a character; generate writes through itos, so nothing else pays."""
    return edit(source, 'for i in ids)', 'for i in ids[1:])')


@mutant("cross_entropy", "2.5", edits=True)
def probability_model_sampled_from_log_p(source):
    """The model ends in a softmax (Keras' Dense(V, activation="softmax")) and generate knows it: it samples
    from softmax(log p / T), the temperature exactly. Its outputs are no logits: cross_entropy, scored from
    them, is near a uniform guess (most of its 3 points lost, how many depends on the reference). Nothing
    else pays."""
    source = edit(source, "        return self.table(ids)", "        return torch.softmax(self.table(ids), dim=-1)")
    return edit(source, "out += itos[sample(logits, temperature)]",
                "out += itos[sample(torch.log(logits), temperature)]")


@mutant("cross_entropy", "2.5", edits=True)
def probability_model_sampled_as_logits(source):
    """The model ends in a softmax and generate passes the probabilities to sample as logits: it draws from
    softmax(p / T), a distribution tempered by T as it should be (of softmax(p), not p). The temperature is
    honoured; cross_entropy pays for the outputs."""
    return edit(source, "        return self.table(ids)", "        return torch.softmax(self.table(ids), dim=-1)")


@mutant("cross_entropy", "2.5", also={"temperature": "1.5"}, edits=True)
def probability_model_and_generate_ignoring_temperature(source):
    """Two defects: the probability model (cross_entropy) and a generate at T = 1 always (temperature)."""
    source = probability_model_sampled_from_log_p(source)
    return edit(source, "sample(torch.log(logits), temperature)", "sample(torch.log(logits), 1.0)")


@mutant("cross_entropy", "3", exact=True, edits=True)
def model_never_trained(source):
    """The counting never copied into the table: nn.Embedding's random start, N(0, 1) logits. cross_entropy
    0; its draws still follow every temperature."""
    return edit(source, "            self.table.weight.copy_(torch.log(counts / counts.sum(dim=1, keepdim=True)))",
                "            pass")


@mutant("cross_entropy", "3", exact=True, edits=True)
def model_at_a_flat_start(source):
    """An untrained network as flat as a Keras GRU's at its start (logits within about 0.01 of each other):
    cross_entropy 0; at T = 0.01 even these draws gather on a few characters, so temperature keeps its points."""
    return edit(source, "            self.table.weight.copy_(torch.log(counts / counts.sum(dim=1, keepdim=True)))",
                "            self.table.weight.mul_(0.008)")


@mutant("cross_entropy", "3", exact=True, also={"temperature": "1.5"}, edits=True)
def model_at_a_flat_start_and_generate_ignoring_temperature(source):
    """Two defects: the flat untrained network and a generate at T = 1 always. The draws change with no T:
    temperature 0, whatever the model."""
    return generate_ignoring_temperature(model_at_a_flat_start(source))


@mutant("model_shape", "1", exact=True, also={"cross_entropy": "3"}, edits=True)
def model_returning_its_state_too(source):
    """forward returns (logits, state), as many tutorials do: not the [N, T, V] logits the table asks for
    (model_shape), and cross_entropy is scored from those logits (0). generate unpacks the pair, so
    temperature keeps its points."""
    source = edit(source, "        return self.table(ids)", "        return self.table(ids), None")
    return edit(source, "model(torch.tensor([encode(out)]))[0, -1]", "model(torch.tensor([encode(out)]))[0][0, -1]")
