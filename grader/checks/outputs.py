"""Reading what the probe wrote to out/: untrusted input, validated before any check sees it.

status.json must carry this run's nonce; every .npy is size-capped, loaded with
``allow_pickle=False`` and must hold numbers; a JSON value (protocol 2) comes from status.json. This module never scores and never raises for
anything the notebook wrote: problems become Reasons.
"""
from __future__ import annotations

import hmac
import io
import json
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grader.checks.known_errors import explained
from grader.i18n import msg
from grader.records import Reason

STATUS_FILE = "status.json"
MAX_STATUS_BYTES = 1 << 20
MAX_ARRAY_BYTES = 64 << 20
MAX_ERROR_CHARS = 300
_STATES = {"ok", "missing", "error"}


class OutputProblem(Exception):
    """A file under out/ that cannot be believed or used; ``str()`` is a short technical phrase."""


@dataclass(frozen=True)
class ItemOutput:
    """One probe item: the array (or, for non-numeric answers, the JSON value) when it is usable,
    otherwise the reason it is not. ``is_value`` tells a JSON null from an array answer."""

    array: np.ndarray | None
    reason: Reason | None
    value: Any = None
    is_value: bool = False


class ProbeOutputs:
    """The probe's answers for one run, and the judge's where it answered instead (``judged``: those items).
    ``problem`` set: nothing in out/ counts (and why)."""

    def __init__(self, out_dir: Path | None, statuses: dict[str, dict[str, Any]],
                 problem: Reason | None = None, absent: bool = False,
                 folders: dict[str, Path] | None = None, judged: frozenset[str] = frozenset(),
                 unexported: dict[str, str] | None = None) -> None:
        self.out_dir = out_dir
        self.statuses = statuses
        self.problem = problem
        self.absent = absent        # no status.json at all: the probe never finished
        self.folders = dict(folders or {})   # item -> the folder holding its array, when not out/
        self.judged = judged
        self.unexported = dict(unexported or {})   # name -> why the judge could not run it (the kernel answered)

    def path_of(self, name: str) -> Path:
        """A file the probe wrote into out/ by a name the plan fixed (e.g. an exported program)."""
        if self.out_dir is None:
            raise FileNotFoundError(name)
        return Path(self.out_dir) / name

    def with_answers(self, statuses: dict[str, dict[str, Any]], folder: Path) -> "ProbeOutputs":
        """These items answered by the judge (their arrays in ``folder``), in place of the probe's."""
        return ProbeOutputs(self.out_dir, {**self.statuses, **statuses}, self.problem, self.absent,
                            {**self.folders, **{item: Path(folder) for item in statuses}},
                            self.judged | frozenset(statuses), self.unexported)

    def failing(self, errors: dict[str, str]) -> "ProbeOutputs":
        """These items answered by an error (e.g. a program the judge refused), said in the item's reason."""
        failed = {item: {"status": "error", "error": error[:MAX_ERROR_CHARS]} for item, error in errors.items()}
        return ProbeOutputs(self.out_dir, {**self.statuses, **failed}, self.problem, self.absent, self.folders,
                            self.judged | frozenset(errors), self.unexported)

    def not_exported(self, reasons: dict[str, str]) -> "ProbeOutputs":
        """These objects' programs could not be judged: their items keep the kernel's answers, as claims."""
        return ProbeOutputs(self.out_dir, self.statuses, self.problem, self.absent, self.folders, self.judged,
                            {**self.unexported, **reasons})

    @classmethod
    def failed(cls, reason: Reason, *, absent: bool = False) -> "ProbeOutputs":
        return cls(None, {}, reason, absent)

    def get(self, item: str, name: str, want: str = "any") -> ItemOutput:
        """The output of ``item`` (the student's object ``name`` called on the grader's input).

        ``want``: "array" for items whose answer can only be numbers (a model's output), "value" for
        those that can only be JSON (an introspection); an answer of the other kind is the item's
        failure here, so that no check ever meets a JSON value where it reads an array."""
        if self.problem is not None:
            return ItemOutput(None, self.problem)
        status = self.statuses.get(item)
        if status is None:
            return ItemOutput(None, msg("checks_probe_item_absent", name=name))
        if status["status"] == "missing":
            return ItemOutput(None, msg("checks_missing_name", name=name))
        if status["status"] == "error":
            if status.get("forbidden"):
                forbidden = ", ".join(f"`{called}`" for called in status["forbidden"])
                return ItemOutput(None, msg("checks_forbidden_call", name=name, forbidden=forbidden))
            error = str(status["error"])
            return ItemOutput(None, explained(name, error) or msg("checks_call_failed", name=name, error=error))
        if "value" in status:
            if want == "array":
                kind = json_kind(status["value"])
                return ItemOutput(None, msg("checks_output_not_numbers", name=name, got=kind,
                                            problem=f"a JSON {kind} where numbers (an array) were expected"))
            return ItemOutput(None, None, status["value"], is_value=True)
        if want == "value":
            return ItemOutput(None, msg("checks_output_not_value", name=name,
                                        problem="numbers where a JSON value was expected"))
        try:
            return ItemOutput(load_array(self.folders.get(item, self.out_dir) / f"{item}.npy"), None)
        except OutputProblem as err:
            return ItemOutput(None, msg("checks_output_invalid", name=name, problem=str(err)))


def expected_outputs(items: list[dict[str, Any]]) -> tuple[tuple[str, int], ...]:
    """(file name, byte cap) of everything the probe may write to out/ for these spec items: the runner
    brings back these names only, as regular files within their caps."""
    return ((STATUS_FILE, MAX_STATUS_BYTES), *((f"{item['item']}.npy", MAX_ARRAY_BYTES) for item in items))


def read_outputs(out_dir: Path | None, nonce: str) -> ProbeOutputs:
    """Believe out/ only when status.json is small, well formed and carries ``nonce``."""
    if out_dir is None:
        return ProbeOutputs.failed(msg("checks_probe_no_output"), absent=True)
    path = Path(out_dir) / STATUS_FILE
    if not path.exists() and not path.is_symlink():
        return ProbeOutputs.failed(msg("checks_probe_no_output"), absent=True)
    try:
        data = json.loads(_read_capped(path, MAX_STATUS_BYTES).decode("utf-8"))
    except OutputProblem as err:
        return ProbeOutputs.failed(msg("checks_probe_status_invalid", problem=str(err)))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return ProbeOutputs.failed(msg("checks_probe_status_invalid", problem="not valid JSON"))
    if not isinstance(data, dict) or not _same_nonce(data.get("nonce"), nonce):
        return ProbeOutputs.failed(msg("checks_probe_untrusted"))
    statuses = _statuses(data.get("items"))
    if statuses is None:
        return ProbeOutputs.failed(msg("checks_probe_status_invalid", problem="malformed items"))
    return ProbeOutputs(Path(out_dir), statuses)


def load_array(path: Path) -> np.ndarray:
    """A numeric array from an untrusted .npy file, or OutputProblem saying what is wrong."""
    raw = _read_capped(path, MAX_ARRAY_BYTES)
    try:
        array = np.load(io.BytesIO(raw), allow_pickle=False)
    except ValueError as err:
        if "pickle" in str(err).lower():
            raise OutputProblem("the file holds Python objects (pickle), which are refused") from None
        raise OutputProblem(f"not a valid .npy file ({err})") from None
    except Exception as err:  # numpy's header parser raises several types on corrupt files
        raise OutputProblem(f"not a valid .npy file ({type(err).__name__})") from None
    if not isinstance(array, np.ndarray):
        raise OutputProblem("not a single .npy array")
    if array.dtype.kind not in "biuf":
        raise OutputProblem(f"dtype {array.dtype} is not numeric")
    return array


def json_kind(value: Any) -> str:
    """JSON's own name for the type of ``value`` (a student reads it in a reason)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "list", dict: "object"}.get(type(value), type(value).__name__)


def _read_capped(path: Path, cap: int) -> bytes:
    """Read a regular file of at most ``cap`` bytes; links and devices are refused (they point
    outside out/, or never end)."""
    try:
        info = path.lstat()
    except OSError:
        raise OutputProblem(f"{path.name} is missing") from None
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
        raise OutputProblem(f"{path.name} is not a regular file")
    if info.st_size > cap:
        raise OutputProblem(f"{path.name} is larger than {cap // (1 << 20)} MB")
    with path.open("rb") as fh:
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise OutputProblem(f"{path.name} is larger than {cap // (1 << 20)} MB")
    return data


def _same_nonce(found: Any, nonce: str) -> bool:
    return isinstance(found, str) and found.isascii() and hmac.compare_digest(found, nonce)


def _statuses(items: Any) -> dict[str, dict[str, Any]] | None:
    if not isinstance(items, dict):
        return None
    statuses = {}
    for item, entry in items.items():
        if not isinstance(entry, dict) or entry.get("status") not in _STATES:
            return None
        error = entry.get("error")
        error = str(error)[:MAX_ERROR_CHARS] if error is not None else None
        statuses[str(item)] = {"status": entry["status"], "error": error}
        if entry["status"] == "ok" and "value" in entry:
            statuses[str(item)]["value"] = entry["value"]
        adapted = _adaptations(entry.get("adapted"))
        if adapted:
            statuses[str(item)]["adapted"] = adapted
        forbidden = entry.get("forbidden")
        if entry["status"] == "error" and isinstance(forbidden, list):
            named = [called for called in forbidden[:5] if isinstance(called, str) and 0 < len(called) <= 80]
            if named:
                statuses[str(item)]["forbidden"] = named
    return statuses


def _adaptations(value: Any) -> list[dict[str, str]]:
    """What the probe says it adapted between the contract and the model: a few short words, or nothing."""
    if not isinstance(value, list):
        return []
    kept = []
    for entry in value[:5]:
        if isinstance(entry, dict) and all(isinstance(entry.get(k), str) and len(entry[k]) <= 40
                                           for k in ("kind", "contract", "model")):
            kept.append({k: entry[k] for k in ("kind", "contract", "model")})
    return kept
