"""The declared schema of ``assignment.toml`` (pydantic): the [assignment] head, [parameters],
[reference] and the keys every [[checks]] table shares. Each kind's own keys are declared by the kind
(grader.checks.base.Check.options) and validated by grader.assignment; nothing here imports a kind.
"""
from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field, model_validator

from grader.config_types import (
    Boolean,
    Reference,
    Table,
    Text,
    Titled,
    decimal,
    doc,
    integer,
    kind_of,
    one_of,
    problem,
    text_list,
)
from grader.dataset_caches import names

ID = re.compile(r"^[A-Za-z0-9_-]+$")
COMMON_CHECK_KEYS = ("id", "kind", "points", "hidden", "title")
Points = decimal("0")


def _id(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise problem(f"must be a non-empty string, not {kind_of(value)}")
    if not ID.match(value):
        raise problem(f"{value!r} may hold only letters, digits, '_' and '-'")
    return value


def _parameters(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise problem(f"must be a table ([parameters]), not {kind_of(value)}")
    for key, item in value.items():
        if isinstance(item, (dict, list)) or not isinstance(item, (str, int, float, bool)):
            raise problem("must be a string, number or boolean", key=key)
    return dict(value)


def _checks(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise problem("at least one [[checks]] table is required")
    for index, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise problem("must be a table", key=str(index))
    return value


def _dataset_caches(value: Any) -> tuple[str, ...]:

    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise problem(f'must be a list of names, e.g. ["keras.mnist"], not {kind_of(value)}')
    unknown = [v for v in value if v not in names()]
    if unknown:
        raise problem(f"unknown dataset cache {unknown[0]!r}; known: {', '.join(names())}")
    return tuple(value)


Id = Annotated[str, BeforeValidator(_id)]


class Head(Table):
    id: Id = Field(..., **doc("string", "", "the practical's id (letters, digits, '_', '-')"))
    title: Titled = Field(..., **doc('string or {es, en}', "", "shown to students (or title_es and title_en)"))
    title_es: Text = Field(None, **doc("string", "none", "the Spanish title (with title_en, instead of title)"))
    title_en: Text = Field(None, **doc("string", "none", "the English title"))
    version: Text = Field(..., **doc("string", "", "changes with the grading rules"))
    max_points: Points = Field(..., **doc('"decimal"', "", "the practical's scale: its checks' points add up to it"))
    cell_timeout_s: integer(1) = Field(600, **doc("int ≥ 1", "600", "time limit of one cell"))
    student_data: Reference = Field(None, **doc("reference", "none", "hook preparing the data a student may read"))
    student_files: text_list(what="file names", example='["train.txt"]') = Field(
        (), **doc("list of names", "[]", "what the template reads in its data_dir: `grader check --run` names the "
                                         "missing one, `grader data` writes them"))
    dataset_caches: Annotated[tuple[str, ...], BeforeValidator(_dataset_caches)] = Field(
        (), **doc("list of names", "[]", "caches of students' usual download calls made from the student data, "
                                         'e.g. `["keras.mnist", "torchvision.MNIST"]` (grader/dataset_caches.py)'))


    @model_validator(mode="before")
    @classmethod
    def _title_per_language(cls, data: Any) -> Any:
        """``title_es``/``title_en`` make ``title``; each missing one falls back to the plain title."""
        if isinstance(data, dict) and ("title_es" in data or "title_en" in data):
            plain = data.get("title")
            plain = plain if isinstance(plain, str) else None
            es, en = data.get("title_es", plain), data.get("title_en", plain)
            if es is None or en is None:
                raise problem("title_es and title_en go together (or with a plain title)", key="title")
            data = {**data, "title": {"es": es, "en": en}}
        return data


class ReferenceTable(Table):
    build: Reference = Field(None, **doc("reference", "none", "hook whose metrics relative thresholds use"))


class KerasTable(Table):
    """How the Keras edition of a practical takes the contract's inputs and gives its outputs (the contract's
    are PyTorch's, channels first)."""

    input_layout: dict[str, one_of("NCHW", "NHWC")] = Field({}, **doc(
        "table", "{}", 'per object, e.g. `{model = "NHWC"}`: a Keras `model` gets the contract\'s `[N,C,H,W]` '
        "batches channels last, `[N,H,W,C]`, unless its own input is declared channels-first"))
    output_layout: dict[str, one_of("CHW", "HWC", "NCHW", "NHWC")] = Field({}, **doc(
        "table", "{}", 'per object, e.g. `{preprocess = "HWC"}`: what a Keras notebook\'s object returns channels '
        "last (`[H,W,C]`, `[N,H,W,C]`) is compared in the contract's channels-first layout"))
    edition: Text = Field(None, **doc("string", "none", "the Keras edition's template, e.g. `template_keras.ipynb`"))


class ExecutionTable(Table):
    """How the runners prepare a kernel for this practical."""

    preload: text_list(what="module names", example='["torch", "matplotlib.pyplot"]') = Field(
        (), **doc("list of names", "[]", "modules every kernel of the practical imports anyway, imported once per "
                                         "batch by the local runner's fork server (and a warm container) instead "
                                         'of once per notebook, e.g. `["torch", "matplotlib.pyplot"]`'))


class AssignmentFile(Table):
    assignment: Head
    parameters: Annotated[dict[str, Any], BeforeValidator(_parameters)] = Field({})
    checks: Annotated[list[dict[str, Any]], BeforeValidator(_checks)] = Field(None, validate_default=True)
    reference: ReferenceTable = Field(default_factory=ReferenceTable)
    keras: KerasTable = Field(default_factory=KerasTable)
    execution: ExecutionTable = Field(default_factory=ExecutionTable)


class CheckHead(Table):
    """The keys every [[checks]] table has; the rest belongs to its kind."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: Id
    kind: Text
    points: Points
    hidden: Boolean = False
    title: Titled = None   # {es, en}; students read it instead of the id


__all__ = ["AssignmentFile", "CheckHead", "COMMON_CHECK_KEYS", "Points"]
