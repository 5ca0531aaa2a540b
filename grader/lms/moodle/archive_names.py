"""Names inside Moodle's "download all submissions" archive: who, which team, which file.

Pure string work on entry names (mod/assign/locallib.php, download_submissions); it never
touches the file system and never guesses a participant id that the name does not carry.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Iterable

from grader.lms.base import EntryName

# Moodle's word for a hidden identity under blind marking, per site language.
BLIND_WORDS = ("Participant", "Participante")
# Team submissions without a group get this prefix (English and Spanish language packs).
DEFAULT_TEAMS = ("Default group", "Grupo por defecto", "Grupo predeterminado")

# N is the trailing digits before "_assignsubmission_"; the name before it never holds "_"
# (Moodle turns "_" into spaces), so the first match is the right one.
_ENTRY = re.compile(r"^(?P<prefix>[^/]*?)_(?P<n>\d+)_assignsubmission_(?P<plugin>[a-z0-9]+)_(?P<rest>.*)$",
                    re.DOTALL)
# clean_filename (PARAM_FILE) removes control characters and & < > " ` | ' : \ /
_MOODLE_STRIPPED = re.compile(r"[\x00-\x1f\x7f&<>\"`|':\\/]")


def parse_entry_name(name: str, groups: Iterable[str] | None = None) -> EntryName | None:
    """Understand one entry name; None when it is not a Moodle submission entry.

    ``groups`` are known team names (from the worksheet's Group column or inferred from the
    whole archive); without them only Moodle's default-team prefix is recognised, because a
    hyphen alone cannot tell "Team A-Ana" from "Jean-Luc".
    """
    name = name.replace("\\", "/")
    match = _ENTRY.match(name)
    if match is None:
        return None
    prefix, rest = match["prefix"], match["rest"]
    # Folders layout: "..._file_/sub/a.ipynb"; flat layout: "..._file_a.ipynb".
    relpath = "/".join(part for part in rest.split("/") if part not in ("", "."))
    group, person = split_group(prefix, groups)
    return EntryName(full_name=person, participant=match["n"], group=group, relpath=relpath,
                     blind=person in BLIND_WORDS, plugin=match["plugin"])


def split_group(prefix: str, groups: Iterable[str] | None = None) -> tuple[str | None, str]:
    """Split "{group}-{full name}" when the group is known, the default team, or the name is blind."""
    candidates = sorted({*(groups or ()), *DEFAULT_TEAMS}, key=len, reverse=True)
    for group in candidates:
        if group and prefix.startswith(group + "-") and len(prefix) > len(group) + 1:
            return group, prefix[len(group) + 1:]
    for word in BLIND_WORDS:
        # Blind team entries read "{group}-Participant": the word itself marks the split.
        if prefix.endswith("-" + word) and len(prefix) > len(word) + 1:
            return prefix[: -len(word) - 1], word
    return None, prefix


def infer_groups(prefixes: Iterable[tuple[str, str]]) -> set[str]:
    """Team names in an archive of team submissions, from (prefix, participant) pairs.

    Moodle copies a team's files once per member, all with the same "{group}-" prefix, and
    in a team archive every entry has one. So: only when every non-blind prefix holds a
    hyphen and two participants share a hyphen-ended prefix, a group is the longest such
    shared prefix (a lone member's team is split at its first hyphen).
    """
    pairs = {(p, n) for p, n in prefixes}
    named = [(p, n) for p, n in pairs if split_group(p)[1] not in BLIND_WORDS]
    if not named or any("-" not in p for p, _ in named):
        return set(_blind_groups(pairs))
    owners: dict[str, set[str]] = {}
    for prefix, n in named:
        for cut in _hyphen_cuts(prefix):
            owners.setdefault(prefix[:cut], set()).add(n)
    groups = set(_blind_groups(pairs))
    if not any(len(members) > 1 for members in owners.values()):
        return groups   # no two people share a prefix: hyphenated names, not teams
    for prefix, _ in named:
        shared = [prefix[:cut] for cut in _hyphen_cuts(prefix) if len(owners[prefix[:cut]]) > 1]
        groups.add(max(shared, key=len) if shared else prefix[: prefix.index("-")])
    return groups


def _hyphen_cuts(prefix: str) -> list[int]:
    return [i for i, ch in enumerate(prefix) if ch == "-" and 0 < i < len(prefix) - 1]


def _blind_groups(pairs: set[tuple[str, str]]) -> list[str]:
    return [g for g, person in (split_group(p) for p, _ in pairs) if g and person in BLIND_WORDS]


def clean_like_moodle(text: str) -> str:
    """What Moodle's archive does to a full name: "_" to space, then clean_filename."""
    return _MOODLE_STRIPPED.sub("", text.replace("_", " "))


def name_key(full_name: str) -> str:
    """Compare names as Moodle may have written them: cleaned, casefolded, spaces collapsed.

    Accents are kept (Moodle keeps them); NFC makes composed and decomposed forms equal.
    """
    cleaned = clean_like_moodle(unicodedata.normalize("NFC", full_name))
    return " ".join(cleaned.casefold().split())
