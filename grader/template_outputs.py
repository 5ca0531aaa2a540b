"""Which template cells print or plot when the grader runs the practical's own solution, and whether a
hand-in shows output where they do: the evidence of execution that no student code can bend.

The record (``template_outputs.json`` beside assignment.toml, written by ``grader reference outputs``)
is read here, checked against the templates and solutions it was made from, and compared with a hand-in
through grader.cell_alignment. Only the presence of outputs is compared, never their text. Nothing here
runs code (grader.template_outputs_build runs the solutions).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from grader.cell_alignment import CodeCell, align, code_cells
from grader.errors import ConfigError
from grader.notebooks import read_notebook

FILE_NAME = "template_outputs.json"
MAX_FILE_BYTES = 1 << 20


@dataclass(frozen=True)
class EditionOutputs:
    """One edition's record: its template and solution files, the digests of their code, and the
    template's code cells (positions among its non-empty code cells) that print in the solution's run."""

    template: str
    template_digest: str
    solution: str
    solution_digest: str
    printing: tuple[int, ...]


@dataclass(frozen=True)
class TemplateEvidence:
    """A hand-in against the edition it follows best: the template cells that print in the reference's run,
    those whose hand-in cells show no output, and the hand-in cells (notebook positions) that stand for them."""

    template: str
    printing: tuple[int, ...]
    missing: tuple[int, ...]
    named: tuple[int, ...]
    end_cells: tuple[int, ...] = ()   # the hand-in cells standing for the last template cell that prints

    @property
    def shown(self) -> int:
        return len(self.printing) - len(self.missing)

    @property
    def end_shown(self) -> bool:
        """The run reached the end: the last template cell that prints shows output (nothing to show: true)."""
        return not self.printing or self.printing[-1] not in self.missing


def solution_for(template: str) -> str:
    """template.ipynb -> solution.ipynb, template_keras.ipynb -> solution_keras.ipynb."""
    return "solution" + template[len("template"):] if template.startswith("template") else f"solution_{template}"


def digest(cells: list[CodeCell]) -> str:
    """sha256 of the code cells' ids and sources (whitespace aside): changes when what a record was made from does."""
    material = json.dumps([[c.cell_id, " ".join(c.source.split())] for c in cells])
    return hashlib.sha256(material.encode()).hexdigest()


def notebook_code(path: Path) -> list[CodeCell] | None:
    nb, _ = read_notebook(path)
    return code_cells(list(nb.cells)) if nb is not None else None


def read_record(directory: Path) -> tuple[EditionOutputs, ...] | None:
    """The editions recorded beside assignment.toml; None when there is no record. ConfigError when the file
    is not one ``grader reference outputs`` writes."""
    path = Path(directory) / FILE_NAME
    if not path.is_file():
        return None
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ValueError(f"larger than {MAX_FILE_BYTES} bytes")
        data = json.loads(path.read_text(encoding="utf-8"))
        return tuple(_edition(entry) for entry in data["editions"])
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
        raise ConfigError(f"{path}: not a record written by `grader reference outputs` ({err}); build it again") from None


def _edition(entry: dict) -> EditionOutputs:
    printing = entry["printing"]
    if not isinstance(printing, list) or not all(isinstance(i, int) and i >= 0 for i in printing):
        raise ValueError("printing must list cell positions")
    fields = [entry[key] for key in ("template", "template_digest", "solution", "solution_digest")]
    if not all(isinstance(value, str) for value in fields):
        raise ValueError("template, solution and digests must be strings")
    return EditionOutputs(*fields, printing=tuple(sorted(set(printing))))


def check_record(directory: Path, practical: str, templates: tuple[Path, ...]) -> None:
    """ConfigError unless each of the practical's ``templates`` has a record made from its current code (and
    its solution's, where the solution is at hand: a student's copy of a practical has none)."""
    if not templates:
        return
    build = f"`grader reference outputs {practical} --data DATA_DIR`"
    recorded = {edition.template: edition for edition in read_record(directory) or ()}
    for template in templates:
        edition = recorded.get(template.name)
        where = Path(directory) / FILE_NAME
        if edition is None:
            raise ConfigError(f"{where}: no record of which cells of {template.name} print when the grader runs its "
                              f"solution (the evidence that a notebook was executed); build it with {build}")
        cells = notebook_code(template)
        if cells is None or digest(cells) != edition.template_digest:
            raise ConfigError(f"{where}: {template.name} changed since its record was built; build it again with {build}")
        if any(i >= len(cells) for i in edition.printing):
            raise ConfigError(f"{where}: {template.name} has no code cell {max(edition.printing)}; build it again "
                              f"with {build}")
        solution = Path(directory) / edition.solution
        if solution.is_file() and digest(notebook_code(solution) or []) != edition.solution_digest:
            raise ConfigError(f"{where}: {edition.solution} changed since the record was built; build it again "
                              f"with {build}")


def template_evidence(handed_in: Path, directory: Path) -> TemplateEvidence | None:
    """The hand-in compared with the record of the edition it follows most closely; None when the practical
    has no record (no template) or the hand-in cannot be read."""
    editions = read_record(directory)
    nb, _ = read_notebook(handed_in)
    if not editions or nb is None:
        return None
    cells = list(nb.cells)
    mine = code_cells(cells)
    best = None
    for edition in editions:
        template = notebook_code(Path(directory) / edition.template)
        if template is None:
            continue
        alignment = align(template, mine)
        if best is None or alignment.score > best[1].score:
            best = (edition, alignment)
    if best is None:
        return None
    edition, alignment = best
    # loading checked the record against the template; one replaced since then costs a cell, never the batch
    printing = tuple(i for i in edition.printing if i < len(alignment.spans))
    spans = [[mine[j].index for j in alignment.spans[i]] for i in printing]
    missing = [i for i, span in zip(printing, spans) if not any(cells[k].get("outputs") for k in span)]
    named = [mine[alignment.matched[i]].index if alignment.matched[i] is not None else span[0]
             for i, span in zip(printing, spans) if i in missing and span]
    return TemplateEvidence(edition.template, printing, tuple(missing), tuple(dict.fromkeys(named)),
                            tuple(spans[-1]) if spans else ())
