"""The vocabulary of the declared configuration schema (pydantic v2): TOML-aware field types and the
conversion of a ValidationError into the one-line ConfigError people read ("<file>: <key>: <problem>").

course.toml, assignment.toml, each check kind's options and the runners' tables are models built from
these types. Nothing here reads a file or knows a table; grades never become floats here.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Iterable

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, ValidationInfo
from pydantic_core import PydanticCustomError

from grader.errors import ConfigError

REFERENCE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


class Table(BaseModel):
    """One TOML table: unknown keys refused, fields read only after validation."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


def problem(text: str, *, key: str | None = None) -> PydanticCustomError:
    """A validation failure in the house's words; ``key`` names a field when a whole table raises it."""
    return PydanticCustomError("grader", "{problem}", {"problem": text, "key": key})


def kind_of(value: Any) -> str:
    """A value's type in TOML's words, for error messages."""
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string", list: "an array",
             dict: "a table", datetime: "a date-time", date: "a date"}
    return names.get(type(value), type(value).__name__)


def doc(type_: str, default: str = "", meaning: str = "") -> dict[str, Any]:
    """Field keywords that carry a key's row of the README table (type and default in words)."""
    return {"description": meaning, "json_schema_extra": {"doc_type": type_, "doc_default": default}}


# --- field types ---------------------------------------------------------------------------------

def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise problem(f"must be a non-empty string, not {kind_of(value)}")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise problem(f"must be true or false, not {kind_of(value)}")
    return value


def _reference(value: Any) -> str:
    if not isinstance(value, str) or not REFERENCE.match(value):
        raise problem(f"must be a reference 'module:attribute', not {value!r}")
    return value


def _titled(value: Any) -> dict[str, str]:
    """A text people read, in the course's languages: "..." (the same in each) or {es = "...", en = "..."}."""
    if isinstance(value, str):
        return {"es": _text(value), "en": value}
    if not isinstance(value, dict) or set(value) != {"es", "en"}:
        raise problem(f'must be a string or a table {{es = "...", en = "..."}}, not {kind_of(value)}'
                      + (f" with keys {', '.join(sorted(value))}" if isinstance(value, dict) else ""))
    return {lang: _text(value[lang]) for lang in ("es", "en")}


Text = Annotated[str, BeforeValidator(_text)]
Titled = Annotated[dict, BeforeValidator(_titled)]
Boolean = Annotated[bool, BeforeValidator(_flag)]
Reference = Annotated[str, BeforeValidator(_reference)]


def one_of(*choices: str) -> Any:
    """A string among ``choices``."""
    def check(value: Any) -> str:
        value = _text(value)
        if value not in choices:
            raise problem(f"must be one of {', '.join(repr(c) for c in choices)}, not {value!r}")
        return value
    return Annotated[str, BeforeValidator(check)]


def integer(minimum: int | None = 1, maximum: int | None = None) -> Any:
    """A TOML integer (never a boolean, a float or a string) within [minimum, maximum]."""
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise problem(f"must be an integer, not {kind_of(value)}")
        if minimum is not None and value < minimum:
            raise problem(f"must be at least {minimum}, not {value}")
        if maximum is not None and value > maximum:
            raise problem(f"must be at most {maximum}, not {value}")
        return value
    return Annotated[int, BeforeValidator(check)]


def decimal(minimum: str | None = None, *, positive: bool = False) -> Any:
    """A grade, points or threshold: a TOML string ("0.5") or integer, never a TOML float.

    ``0.1`` is binary-inexact, so a float is refused with a hint to quote it."""
    def check(value: Any, info: ValidationInfo) -> Decimal:
        return to_decimal(value, info.field_name, minimum=minimum, positive=positive)
    return Annotated[Decimal, BeforeValidator(check)]


def to_decimal(value: Any, name: str | None, *, minimum: str | None = None, positive: bool = False) -> Decimal:
    """The check of ``decimal()``, for types that accept a decimal among other things."""
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, float):
        raise problem(f'is a TOML float, which is inexact for grades: quote it (write {name or "it"} = "{value}")')
    elif isinstance(value, bool) or not isinstance(value, (str, int)):
        raise problem(f'must be a decimal number as a string (e.g. "0.5"), not {kind_of(value)}')
    else:
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise problem(f"is not a decimal number: {value!r}") from None
    if not number.is_finite():
        raise problem(f"must be a finite number, not {value!r}")
    if positive and number <= 0:
        raise problem(f"must be greater than 0, not {value!r}")
    if minimum is not None and number < Decimal(minimum):
        raise problem(f"must be at least {minimum}, not {value!r}")
    return number


def text_list(*, what: str = "strings", example: str = '["a", "b"]', entry: str = "a non-empty string",
              empty: bool = False) -> Any:
    """A list of non-empty strings (non-empty unless ``empty``), kept as a tuple."""
    def check(value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not (value or empty):
            raise problem(f"must be a {'' if empty else 'non-empty '}list of {what}, e.g. {example}, "
                          f"not {kind_of(value)}")
        if not all(isinstance(v, str) and v.strip() for v in value):
            raise problem(f"every entry must be {entry}")
        return tuple(value)
    return Annotated[tuple[str, ...], BeforeValidator(check)]


def choices_list(*choices: str, empty: bool = False) -> Any:
    """A list of distinct strings among ``choices`` (non-empty unless ``empty``), kept as a tuple (e.g. the
    editions offered)."""
    def check(value: Any) -> tuple[str, ...]:
        allowed = ", ".join(repr(c) for c in choices)
        if not isinstance(value, list) or not (value or empty):
            raise problem(f"must be a {'' if empty else 'non-empty '}list among {allowed}, not {kind_of(value)}")
        wrong = [v for v in value if v not in choices]
        if wrong:
            raise problem(f"{wrong[0]!r} is not one of {allowed}")
        if len(set(value)) != len(value):
            raise problem("lists an entry twice")
        return tuple(value)
    return Annotated[tuple[str, ...], BeforeValidator(check)]


def positive_ints() -> Any:
    """A non-empty list of positive integers (a shape), kept as a tuple."""
    def check(value: Any) -> tuple[int, ...]:
        if not isinstance(value, list) or not value or not all(
                isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
            raise problem(f"must be a list of positive integers, not {value!r}")
        return tuple(value)
    return Annotated[tuple[int, ...], BeforeValidator(check)]


def table_of(example: str) -> Any:
    """A free-form TOML table (its keys belong to someone else, e.g. grading parameters)."""
    def check(value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise problem(f"must be a table, e.g. {example}, not {kind_of(value)}")
        return dict(value)
    return Annotated[dict[str, Any], BeforeValidator(check)]


# --- ValidationError -> ConfigError --------------------------------------------------------------

def validated(model: type[BaseModel], data: Any, file: Any, prefix: str = "", *,
              also_known: Iterable[str] = (), known_note: str = "") -> Any:
    """``model`` validated from ``data``; the first problem as ConfigError "<file>: <key>: <problem>".

    ``prefix`` is the dotted place of ``data`` in the file (e.g. "checks[1] (id 'shape')");
    ``also_known`` adds keys another model reads at the same level to the list of known keys."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise config_error(err, model, file, prefix, also_known=also_known, known_note=known_note) from None


def config_error(err: ValidationError, model: type[BaseModel], file: Any, prefix: str = "", *,
                 also_known: Iterable[str] = (), known_note: str = "") -> ConfigError:
    errors = err.errors(include_url=False)
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = [str(part) for part in first["loc"] if part != "[key]"]
    ctx = first.get("ctx") or {}
    if first["type"] == "grader":
        text = ctx["problem"]
        if ctx.get("key"):
            loc.extend(str(ctx["key"]).split("."))
    elif first["type"] == "missing":
        text = "is required"
    elif first["type"] == "extra_forbidden":
        known = sorted(set(known_keys(model, loc[:-1])) | set(also_known))
        text = f"unknown key{known_note} (allowed: {', '.join(known)})"
    elif first["type"] in ("model_type", "dict_type", "model_attributes_type"):
        text = f"must be a table, not {kind_of(first['input'])}"
    else:
        text = first["msg"]
    key = _dotted(prefix, loc)
    return ConfigError(f"{file}: {key}: {text}" if key else f"{file}: {text}", file=str(file), key=key)


def _dotted(prefix: str, loc: list[str]) -> str:
    key = prefix
    for part in loc:
        key = f"{key}[{part}]" if part.isdigit() else f"{key}.{part}" if key else part
    return key


def known_keys(model: type[BaseModel], loc: list[str]) -> list[str]:
    """The keys of the table at ``loc`` inside ``model`` (following nested tables, lists and dicts)."""
    current: Any = model
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(part)
        if field is None:       # a dict key or a list index: step into the value's model
            continue
        current = _inner_model(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


__all__ = ["Table", "problem", "kind_of", "doc", "Text", "Boolean", "Reference", "one_of", "integer",
           "decimal", "to_decimal", "text_list", "positive_ints", "table_of", "validated", "config_error", "known_keys"]
