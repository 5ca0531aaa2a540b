"""The one message catalogue: every text a student reads, in Spanish and English.

Messages are filed by the module that emits them: ``grader/messages/<stage>.toml`` (intake,
inspection, execution, ...) and ``grader/messages/checks/<kind>.toml``; a practical whose reference
emits codes of its own ships them in ``messages.toml`` in its folder, which joins the catalogue when the
practical is loaded (grader.assignment: ``add_practical_catalogue``). Each entry is
``[code] en = "..." es = "..."`` with ``{param}`` placeholders, and count-aware words:
``{days:día|días}`` is "día" when ``days`` is 1 and "días" otherwise (a list counts its items).
``{evalue:?: }`` is ": " and the value when the value shows something, else nothing: no sentence ends in a
dangling colon (nor does a text parameter: "NotImplementedError: " shows as "NotImplementedError"). An
entry may also say it to the instructor (``es_instructor``, ``en_instructor``: the student in the third
person), used where the instructor reads it (``render(..., for_instructor=True)``). Code names are written
between backticks; ``render_html`` shows them as ``<code>``, plain text keeps them. ``messages/renamed.toml``
maps codes that were renamed to today's, so results stored under an old code still render. Rendering never
raises: a missing parameter shows as ``{name}``. Numbers read as the language writes them: a Decimal, a
float or a text that is one decimal number ("0.87") is written with the decimal comma in Spanish
(grader/prose_numbers.py); a list of cells counted among the code cells says so once, at its end.

A parameter may itself be language-bound: a nested reason (``Reason.to_json()``, e.g. which case
failed and how), a text in both languages (``{"es": ..., "en": ...}``, e.g. a case description an
instructor's cases generator wrote) or a cell reference; each renders in the language of the message
around it, so a reason that explains itself with a smaller one never mixes languages.
"""
from __future__ import annotations

import html
import re
import string
import tomllib
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from grader.prose_numbers import localized, number
from grader.records import Reason

LANGUAGES = ("es", "en")
MESSAGES_DIR = Path(__file__).parent / "messages"
_RENAMED = MESSAGES_DIR / "renamed.toml"
PRACTICAL_CATALOGUE = "messages.toml"   # in a practical's folder, beside assignment.toml
_PRACTICALS: dict[str, Path] = {}       # practical id -> its own catalogue, as last loaded


def add_practical_catalogue(practical: str, path: Path) -> None:
    """A loaded practical's own messages join the catalogue; loading a practical of the same id again (its
    public copy, a copy being checked) puts its file in place of the earlier one."""
    path = Path(path).resolve()
    if _PRACTICALS.get(practical) != path:
        _PRACTICALS[practical] = path
        catalogue.cache_clear()


def catalogue_files() -> list[Path]:
    """The grader's catalogue files, then the loaded practicals' own."""
    return sorted(p for p in MESSAGES_DIR.rglob("*.toml") if p != _RENAMED) + list(_PRACTICALS.values())


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    """code -> {lang: template}, merged from every catalogue file; a code defined twice with other texts is a
    bug (the grader's) or a practical's clash with another's (said as a ValueError naming the file)."""
    merged: dict[str, dict[str, str]] = {}
    for path in catalogue_files():
        with path.open("rb") as fh:
            entries = tomllib.load(fh)
        for code, texts in entries.items():
            if code in merged and merged[code] != texts:
                raise ValueError(f"message code {code!r} defined twice (again in {path})")
            merged[code] = texts
    return merged


@lru_cache(maxsize=1)
def renamed() -> dict[str, str]:
    """old code -> today's code, for reasons stored before a rename."""
    with _RENAMED.open("rb") as fh:
        return tomllib.load(fh)


class _Missing(str):
    """A parameter the reason lacks: shown as ``{name}``, whatever the field asks for."""


class _Formatter(string.Formatter):
    """Values rendered in the message's language; ``{n:one|many}`` picks the word for the count ``n``;
    ``{v:?prefix}`` is the prefix and ``v`` when ``v`` shows something, else nothing."""

    def __init__(self, lang: str, for_instructor: bool = False):
        self.lang = lang
        self.for_instructor = for_instructor

    def get_value(self, key, args, kwargs):
        return kwargs[key] if key in kwargs else _Missing("{" + str(key) + "}")

    def format_field(self, value, format_spec: str) -> str:
        if isinstance(value, _Missing):
            return str(value)
        if format_spec.startswith("?"):
            shown = _format_value(value, self.lang, self.for_instructor)
            return format_spec[1:] + shown if shown.strip() else ""
        if "|" in format_spec:
            one, _, many = format_spec.partition("|")
            return one if _count(value) == 1 else many
        return format(_format_value(value, self.lang, self.for_instructor), format_spec)


def _count(value: Any) -> Decimal | None:
    if isinstance(value, (list, tuple)):
        return Decimal(len(value))
    try:
        return Decimal(str(value).replace(",", "."))   # "1,5" as the Spanish prose writes it
    except (InvalidOperation, ValueError):
        return None


def render(reason: Reason | None, lang: str = "es", for_instructor: bool = False) -> str:
    """The reason's text in ``lang``; ``for_instructor``: its instructor's wording where it has one."""
    if reason is None:
        return ""
    entry = catalogue().get(reason.code) or catalogue().get(renamed().get(reason.code, ""))
    if entry is None:
        return reason.code + (f" {reason.params}" if reason.params else "")
    template = (for_instructor and entry.get(f"{lang}_instructor")) or entry.get(lang) or entry.get("en") \
        or reason.code
    return _Formatter(lang, for_instructor).vformat(template, (), reason.params)


_CODE = re.compile(r"`([^`\n]+)`")


def code_html(text: str) -> str:
    """Plain text as HTML: escaped, and every `name` between backticks shown as <code>name</code>."""
    return _CODE.sub(lambda m: f"<code>{m.group(1)}</code>", html.escape(text))


def render_html(reason: Reason | None, lang: str = "es", for_instructor: bool = False) -> str:
    """``render`` for a page: escaped, code names as <code>."""
    return code_html(render(reason, lang, for_instructor))


def _format_value(value: Any, lang: str, for_instructor: bool = False) -> str:
    if isinstance(value, Reason):
        return render(value, lang, for_instructor)
    if is_nested(value):
        return render(Reason.from_json(value), lang, for_instructor)
    if isinstance(value, (list, tuple)):
        if value and all(_is_cell(v) for v in value):
            return _cells(value, lang)
        return ", ".join(_format_value(v, lang, for_instructor) for v in value)
    if _is_cell(value):
        return _cell(value, lang)
    if isinstance(value, dict) and "en" in value and set(value) <= set(LANGUAGES):
        return str(value.get(lang) or value["en"])
    if isinstance(value, (Decimal, float)):
        return number(value, lang)
    if isinstance(value, str):
        return localized(_DANGLING_COLON.sub("", value), lang)
    return str(value)


# "NotImplementedError: " - an exception without a message, as "type: message" writes it - ends at its type
_DANGLING_COLON = re.compile(r":\s*$")


def is_nested(value: Any) -> bool:
    """A message stored as a parameter of another: {"code": ..., "params": {...}}."""
    return isinstance(value, dict) and isinstance(value.get("code"), str) and isinstance(value.get("params", {}), dict)


_CELL_KEYS = frozenset({"in", "code", "cell"})


def _is_cell(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and set(value) <= _CELL_KEYS


def _cell(ref: dict, lang: str) -> str:
    """A cell as the student sees it (grader.notebooks.cell_ref): "In [7]", or the k-th code cell."""
    if "in" in ref:
        return f"In [{ref['in']}]"
    if "code" in ref:
        return render(Reason("cell_ref_code", {"position": ref["code"]}), lang)
    return render(Reason("cell_ref_cell", {"number": ref.get("cell", "?")}), lang)


def _cells(refs: list | tuple, lang: str) -> str:
    """Several cells, "counting code cells only" said once at the end: "In [3], #5, #7 (counting code cells only)"."""
    def counted(ref: dict) -> bool:
        return "in" not in ref and "code" in ref

    if sum(map(counted, refs)) < 2:
        return ", ".join(_cell(ref, lang) for ref in refs)
    names = [render(Reason("cell_ref_cell", {"number": ref["code"]}), lang) if counted(ref) else _cell(ref, lang)
             for ref in refs]
    return ", ".join(names) + " " + render(Reason("cell_refs_code_note"), lang)


def msg(code: str, **params: Any) -> Reason:
    """Build a Reason; the catalogue test proves every code used exists in both languages."""
    return Reason(code, params)
