"""A hand-in's cells matched to its template's: by the id Jupyter keeps, else by the template's words that
survive, in order; the cells around a match belong to it, so splits, merges, moved prints and added cells
keep every template cell's place."""
from __future__ import annotations

import time

from grader.cell_alignment import MAX_CELLS, CodeCell, align, code_cells

TEMPLATE = [
    "import torch\nfrom torch import nn",
    "data_dir = 'data'\nepochs = 2",
    "def softmax(logits):\n    # YOUR CODE HERE\n    raise NotImplementedError",
    "def cross_entropy(logits, targets):\n    # YOUR CODE HERE\n    raise NotImplementedError",
    "class Net(nn.Module):\n    # YOUR CODE HERE\n    raise NotImplementedError\n\nmodel = Net()\nprint(model)",
    "history = {'loss': []}\n# Train model for epochs\n# YOUR CODE HERE\nraise NotImplementedError",
    "# Accuracy of model on x_test, printed as Test accuracy\n# YOUR CODE HERE\nraise NotImplementedError",
]


def _cells(sources, ids=None) -> list[CodeCell]:
    return [CodeCell(i, None if ids is None else ids[i], s) for i, s in enumerate(sources)]


def _template(ids: bool = False) -> list[CodeCell]:
    return _cells(TEMPLATE, [f"t{i}" for i in range(len(TEMPLATE))] if ids else None)


SOLVED = [
    "import torch\nfrom torch import nn",
    "data_dir = 'data'\nepochs = 2",
    "def softmax(logits):\n    e = torch.exp(logits - logits.max(1, keepdim=True).values)\n    return e / e.sum(1, keepdim=True)",
    "def cross_entropy(logits, targets):\n    return -torch.log(softmax(logits))[range(len(targets)), targets].mean()",
    "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.conv = nn.Conv2d(1, 8, 3)\n\n"
    "model = Net()\nprint(model)",
    "history = {'loss': []}\nfor epoch in range(epochs):\n    history['loss'].append(train_one(model))",
    "acc = (model(x_test).argmax(1) == y_test).float().mean()\nprint(f'Test accuracy: {acc:.4f}')",
]


def test_a_notebook_that_keeps_the_template_cells_is_matched_one_to_one():
    alignment = align(_template(), _cells(SOLVED))
    assert alignment.matched == tuple(range(len(TEMPLATE)))
    assert alignment.spans == tuple((i,) for i in range(len(TEMPLATE)))


def test_a_cell_split_in_two_gives_both_halves_to_its_template_cell():
    split = SOLVED[:4] + [SOLVED[4].split("model = Net()")[0], "model = Net()\nprint(model)"] + SOLVED[5:]
    alignment = align(_template(), _cells(split))
    assert alignment.spans[4] == (4, 5)
    assert alignment.matched[5:] == (6, 7)


def test_a_print_moved_into_a_new_cell_after_belongs_to_the_cell_it_left():
    moved = SOLVED[:6] + ["acc = (model(x_test).argmax(1) == y_test).float().mean()", "print(f'Test accuracy: {acc:.4f}')"]
    alignment = align(_template(), _cells(moved))
    assert {6, 7} <= set(alignment.spans[6])


def test_added_cells_belong_to_the_template_cell_before_them():
    added = SOLVED[:5] + ["plt.imshow(x_train[0][0])", "print(x_train.shape)"] + SOLVED[5:]
    alignment = align(_template(), _cells(added))
    assert alignment.spans[4] == (4, 5, 6) and alignment.matched[5] == 7


def test_merged_cells_leave_the_unmatched_template_cell_the_merged_one():
    merged = SOLVED[:2] + [SOLVED[2] + "\n\n" + SOLVED[3]] + SOLVED[4:]
    alignment = align(_template(), _cells(merged))
    unmatched = [i for i in (2, 3) if alignment.matched[i] is None]
    assert len(unmatched) == 1 and 2 in alignment.spans[unmatched[0]]


def test_an_id_kept_by_jupyter_matches_a_rewritten_cell_and_a_cell_without_it_matches_by_words():
    rewritten = list(SOLVED)
    rewritten[6] = "correct = 0\nfor xb, yb in loader:\n    correct += int((net(xb).argmax(1) == yb).sum())"
    ids = [f"t{i}" for i in range(len(TEMPLATE))]
    assert align(_template(ids=True), _cells(rewritten, ids)).matched[6] == 6
    assert align(_template(), _cells(rewritten)).matched[6] is None


def test_an_id_two_cells_share_tells_nothing():
    cells = [{"cell_type": "code", "id": "same", "source": "x = 1"}, {"cell_type": "code", "id": "same", "source": "y = 2"},
             {"cell_type": "code", "id": "own", "source": "z = 3"}, {"cell_type": "markdown", "source": "# t"},
             {"cell_type": "code", "id": "empty", "source": "  \n"}]
    assert [(c.index, c.cell_id) for c in code_cells(cells)] == [(0, None), (1, None), (2, "own")]


def test_a_notebook_of_unrelated_cells_lets_every_template_cell_span_all_of_it():
    alignment = align(_template(), _cells(["x = 1", "y = x + 1", "print(y)"]))
    assert alignment.matched == (None,) * len(TEMPLATE)
    assert all(span == (0, 1, 2) for span in alignment.spans)


def test_a_hostile_number_of_cells_is_cut_and_aligned_quickly():
    started = time.monotonic()
    alignment = align(_template(), _cells(["x = 1"] * (MAX_CELLS * 10)))
    assert time.monotonic() - started < 30
    assert max(max(span) for span in alignment.spans if span) < MAX_CELLS
