"""A solution rewritten the way students rearrange a notebook, whatever the practical or edition: cells
merged, a cell split in two, a print moved into a cell of its own, cells added, the ids Jupyter keeps
lost (Colab); and a student who prints only what the template prints for her. Edits of top-level
statements (ast), so each still runs; nothing here runs anything."""
from __future__ import annotations

import ast

import nbformat

from grader.notebook_tags import PARAMETERS_TAG


def restyled(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(solution)
    code = _code_positions(nb)
    first, second = code[2], code[3]           # the two cells after the parameters cell: merged
    nb.cells[first].source += "\n\n" + nb.cells[second].source
    del nb.cells[second]
    _split_largest(nb)
    _move_a_print(nb)
    middle = _code_positions(nb)[len(_code_positions(nb)) // 2]
    nb.cells.insert(middle, nbformat.v4.new_markdown_cell("## Mis pruebas\nAntes de seguir, compruebo algo."))
    nb.cells.insert(middle + 1, nbformat.v4.new_code_cell('print("comprobando:", 2 + 2)'))
    nb.cells.insert(middle + 2, nbformat.v4.new_code_cell('notes = "probado en casa"'))
    return colab(nb)


def colab(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Saved by Colab: nbformat 4.4 (no cell ids), Colab's own metadata."""
    nb.nbformat_minor = 4
    for number, cell in enumerate(nb.cells):
        cell.pop("id", None)
        cell.metadata["id"] = f"colab-{number:04d}"
    nb.metadata["colab"] = {"provenance": []}
    return nb


def minimalist(solution: nbformat.NotebookNode, template: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Her own cells print nothing but the contract's accuracy line (no print(model), a silent training
    loop, Keras fits at verbose=0) and she deletes the template's quick self-check cell; what the
    template prints for her stays."""
    nb = nbformat.from_dict(solution)
    given = [c.source for c in template.cells if c.cell_type == "code"]
    ours = [c for c in nb.cells if c.cell_type == "code"]
    for cell, theirs in zip(ours, given):
        if "NotImplementedError" in theirs or "TODO" in theirs:
            cell.source = ast.unparse(_Silenced(theirs).visit(ast.parse(cell.source)))
    nb.cells = [c for c in nb.cells if not c.source.startswith("# A quick self-check")]
    return nb


class _Silenced(ast.NodeTransformer):
    """Drops print calls the template does not write itself; fit/evaluate/predict run at verbose=0."""

    def __init__(self, template_source: str) -> None:
        self.given = {ast.dump(n) for n in ast.walk(ast.parse(template_source)) if isinstance(n, ast.Expr)}

    def visit_Expr(self, node: ast.Expr):
        call = node.value
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "print":
            if ast.dump(node) not in self.given and "Test accuracy" not in ast.unparse(node):
                return ast.Pass()
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "summary":
            return ast.Pass()
        return self.generic_visit(node)

    def visit_Call(self, node: ast.Call):
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("fit", "evaluate", "predict"):
            node.keywords = [k for k in node.keywords if k.arg != "verbose"] + [
                ast.keyword(arg="verbose", value=ast.Constant(0))]
        return self.generic_visit(node)


def _code_positions(nb) -> list[int]:
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def _split_largest(nb) -> None:
    """The code cell with most top-level statements becomes two, cut between its middle statements."""
    candidates = [i for i in _code_positions(nb) if PARAMETERS_TAG not in nb.cells[i].metadata.get("tags", [])]
    position = max(candidates, key=lambda i: len(ast.parse(nb.cells[i].source).body))
    body = ast.parse(nb.cells[position].source).body
    cut = body[len(body) // 2]
    line = min([cut.lineno] + [d.lineno for d in getattr(cut, "decorator_list", [])]) - 1
    lines = nb.cells[position].source.splitlines()
    nb.cells[position].source = "\n".join(lines[:line]).rstrip()
    nb.cells.insert(position + 1, nbformat.v4.new_code_cell("\n".join(lines[line:])))


def _move_a_print(nb) -> None:
    """The last cell ending in a print(...) after other statements keeps them; the print gets a cell after it."""
    for position in reversed(_code_positions(nb)):
        body = ast.parse(nb.cells[position].source).body
        last = body[-1] if len(body) > 1 else None
        if isinstance(last, ast.Expr) and isinstance(last.value, ast.Call) \
                and getattr(last.value.func, "id", None) == "print":
            lines = nb.cells[position].source.splitlines()
            nb.cells[position].source = "\n".join(lines[:last.lineno - 1]).rstrip()
            nb.cells.insert(position + 1, nbformat.v4.new_code_cell("\n".join(lines[last.lineno - 1:])))
            return
