"""Named parts of a function check's points, and what a cases generator may say about each case.

A check's points may be split into parts (``[[checks.parts]]``: id, points, es, en), so that one
property of a function (stability on ±1000 logits, greyscale input) is worth a share stated in the
point table, not whatever share of the cases it happens to own. The cases generator tags a case
with its part; untagged cases share what the parts leave. Each part scores the share of its own
cases passed, so a function wrong in one respect loses exactly that part, whatever the seed.

A case may also carry a description in both languages (``about``), which the student reads in
place of "case 3 (inputs up to 1000)". Both travel as attributes of a tuple subclass (e.g.
``reference.cases.Case``) or as keys of the dict form ``{"args": [...], "part": ..., "about": ...}``;
plain tuples, as ``reference.library``'s generators return, have neither.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from grader.assignment_file import Points
from grader.checks.shares import share
from grader.errors import ConfigError
from grader.i18n import LANGUAGES, msg
from grader.config_types import Table, problem

REST = "rest"                      # the details' key of the untagged cases; no part may take the name
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Part:
    id: str
    points: Decimal
    about: dict[str, str]          # the part in words, {"es": ..., "en": ...}, as students read it


class PartTable(Table):
    """One ``[[checks.parts]]`` table: an id, its points and its name in every language."""

    id: str = Field(..., description="a lower-case name, not 'rest'")
    points: Points = Field(..., description="the part's share of the check's points")
    es: str = Field(..., description="the part in Spanish, as students read it")
    en: str = Field(..., description="the part in English, as students read it")

    @model_validator(mode="before")
    @classmethod
    def _named_in_words(cls, table: Any) -> Any:
        if isinstance(table, dict):
            part_id = table.get("id")
            if not isinstance(part_id, str) or not _ID.match(part_id) or part_id == REST:
                raise problem(f"{part_id!r} must be a new lower-case name, not {REST!r}", key="id")
            for lang in LANGUAGES:
                if not isinstance(table.get(lang), str) or not table[lang].strip():
                    raise problem(f"{lang} must name the part in words (es and en)")
        return table


def _tables(value: Any) -> Any:
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
        raise problem("must be [[checks.parts]] tables (id, points, es, en)")
    return value


def _parts(tables: list[PartTable]) -> tuple[Part, ...]:
    seen: set[str] = set()
    for index, table in enumerate(tables):
        if table.id in seen:
            raise problem(f"{table.id!r} must be a new lower-case name, not {REST!r}", key=f"{index}.id")
        seen.add(table.id)
    return tuple(Part(t.id, t.points, {lang: getattr(t, lang) for lang in LANGUAGES}) for t in tables)


# the option type "parts" of a function check
Parts = Annotated[list[PartTable], BeforeValidator(_tables), AfterValidator(_parts)]


def validate_points(parts: tuple[Part, ...], points: Decimal, where: str, path: Path) -> None:
    """The parts fit in the check's points (what they leave goes to the untagged cases)."""
    total = sum((p.points for p in parts), Decimal("0"))
    if total > points:
        raise ConfigError(f"{path}: {where}.parts add up to {total}, more than the check's {points} points")


def case_tags(case: Any, check_id: str) -> tuple[str | None, dict[str, str] | None]:
    """(part id or None, description or None) that a cases generator attached to one case."""
    if isinstance(case, dict):
        part, about = case.get("part"), case.get("about")
    else:
        part, about = getattr(case, "part", None), getattr(case, "about", None)
    if part is not None and not isinstance(part, str):
        raise ConfigError(f"check {check_id!r}: a case's part must be a part id, got {part!r}")
    if about is not None and not (isinstance(about, dict) and all(isinstance(about.get(lang), str) and about[lang]
                                                                  for lang in LANGUAGES)):
        raise ConfigError(f"check {check_id!r}: a case's description must be {{'es': ..., 'en': ...}}, got {about!r}")
    return part, about


def check_cases(parts: tuple[Part, ...], points: Decimal, tags: list[str | None], check_id: str) -> None:
    """Every tag names a declared part, every part has cases, untagged cases only where points are left."""
    declared = {p.id for p in parts}
    unknown = sorted({t for t in tags if t is not None and t not in declared})
    if unknown:
        raise ConfigError(f"check {check_id!r}: cases tagged with undeclared part {unknown[0]!r} "
                          f"(declared: {', '.join(sorted(declared)) or 'none'})")
    if not parts:
        return
    empty = [p.id for p in parts if p.id not in tags]
    if empty:
        raise ConfigError(f"check {check_id!r}: part {empty[0]!r} has no cases; its points could not be earned")
    rest = points - sum((p.points for p in parts), Decimal("0"))
    if (None in tags) != (rest > 0):
        raise ConfigError(f"check {check_id!r}: {rest} points are left to cases of no part, but "
                          f"{tags.count(None)} cases have no part")


def scored(parts: tuple[Part, ...], points: Decimal, outcomes: list[tuple[str | None, bool]]
           ) -> tuple[Decimal, Any, dict[str, str]]:
    """(points earned, the {lost} message parameter, passed/total per part) from (part, passed) per case.

    Without parts this is the share of cases passed, as it always was."""
    groups = [(None, points - sum((p.points for p in parts), Decimal("0")), msg("function_part_rest").to_json())]
    groups += [(p.id, p.points, p.about) for p in parts]
    earned, lost, counts = Decimal("0"), [], {}
    for part_id, part_points, about in groups:
        mine = [ok for tag, ok in outcomes if tag == part_id]
        if not mine:
            continue
        got = share(part_points, sum(mine), len(mine))
        earned += got
        counts[part_id or REST] = f"{sum(mine)}/{len(mine)}"
        if got < part_points:
            lost.append(msg("function_part", part=about, passed=sum(mine), total=len(mine),
                            points=_plain(part_points - got)).to_json())
    if not parts or not lost:
        return earned, "", counts
    return earned, msg("function_parts_lost", parts=lost).to_json(), counts


def _plain(points: Decimal) -> str:
    """0.50 -> "0.5", 1.00 -> "1": points as a person writes them."""
    return format(points.normalize(), "f")
