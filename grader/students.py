"""Join one person across practicals: by the worksheet's user key, else by name.

Never joins by Moodle's blind-marking word ("Participant"), and never merges two people
who share a name: such students are flagged ``ambiguous`` and the instructor is warned.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from grader.errors import ConfigError
from grader.lms.moodle import USER_KEY_HEADERS, TITLES, Worksheet, name_key
from grader.records import Student, Submission, WorksheetRow


@dataclass(frozen=True)
class Roster:
    students: list[Student]         # participants maps practical -> N
    warnings: list[str]             # instructor-facing: ambiguous names, unmatched rows...


@dataclass
class _Person:
    key: str | None
    full_name: str
    email: str | None = None
    participants: dict[str, str] = field(default_factory=dict)
    ambiguous: bool = False


class _Join:
    """The people found so far, reachable by key, by (practical, N) and by name."""

    def __init__(self, user_key: str) -> None:
        self.user_key = user_key
        self.people: list[_Person] = []
        self.by_key: dict[str, _Person] = {}
        self.by_n: dict[tuple[str, str], _Person] = {}
        self.by_name: dict[str, list[_Person]] = {}
        self.ambiguous_names: set[str] = set()
        self.warnings: list[str] = []

    def new(self, practical: str, n: str, full_name: str, key: str | None = None,
            email: str | None = None, ambiguous: bool = False) -> _Person:
        person = _Person(key, full_name, email, {}, ambiguous)
        self.people.append(person)
        if key:
            self.by_key[_fold_key(key, self.user_key)] = person
        self.attach(person, practical, n, full_name)
        return person

    def attach(self, person: _Person, practical: str, n: str, full_name: str) -> None:
        person.participants[practical] = n
        self.by_n[(practical, n)] = person
        key = name_key(full_name)
        if key and person not in self.by_name.setdefault(key, []):
            self.by_name[key].append(person)

    def by_name_for(self, practical: str, full_name: str) -> list[_Person]:
        """People of that name still free in this practical."""
        return [p for p in self.by_name.get(name_key(full_name), []) if practical not in p.participants]

    def mark_ambiguous(self, full_name: str) -> None:
        key = name_key(full_name)
        self.ambiguous_names.add(key)
        for person in self.by_name.get(key, []):
            person.ambiguous = True


def join_students(submissions: dict[str, list[Submission]], worksheets: dict[str, Worksheet | None],
                  user_key: str) -> Roster:
    """Everyone in the worksheets and the submissions, once each; see the module docstring."""
    if user_key not in USER_KEY_HEADERS:
        raise ConfigError(f"user key must be one of {', '.join(USER_KEY_HEADERS)}, not {user_key!r}")
    join = _Join(user_key)
    for practical, ws in worksheets.items():
        if ws is not None:
            _join_worksheet(join, practical, ws)
    for practical, subs in submissions.items():
        _join_submissions(join, practical, subs, worksheets.get(practical))
    people = sorted(join.people, key=lambda p: (name_key(p.full_name), p.key or "",
                                               sorted(p.participants.items())))
    students = [Student(key=p.key, full_name=p.full_name, email=p.email, participants=dict(p.participants),
                        ambiguous=p.ambiguous) for p in people]
    return Roster(students=students, warnings=join.warnings)


def _join_worksheet(join: _Join, practical: str, ws: Worksheet) -> None:
    if not ws.has_column(join.user_key):
        en, es = TITLES[join.user_key][:2]
        join.warnings.append(f"{ws.path}: no '{en}' ('{es}') column; its rows are joined by name")
    for n, row in ws.entries.items():
        full_name = row.full_name or f"Participant {n}"
        key = _key_of(row, join.user_key)
        person = join.by_key.get(_fold_key(key, join.user_key)) if key else None
        if person is not None and practical in person.participants:
            join.warnings.append(f"{ws.path}: {key} appears in two rows (participants "
                                 f"{person.participants[practical]} and {n}); the second is kept apart")
            join.new(practical, n, full_name, None, row.email, ambiguous=True)
        elif person is not None:
            join.attach(person, practical, n, full_name)
            person.email = person.email or row.email
        elif key:
            join.new(practical, n, full_name, key, row.email)
        elif row.full_name:
            # a missing column was warned about once above; an empty cell is worth its own line
            why = f"{ws.path}: row of {n} has no {join.user_key}" if ws.has_column(join.user_key) else None
            _join_by_name(join, practical, n, full_name, row.email, why=why)
        else:
            join.new(practical, n, full_name)


def _join_submissions(join: _Join, practical: str, subs: list[Submission], ws: Worksheet | None) -> None:
    loose = [s for s in subs if (practical, s.participant) not in join.by_n]
    names = [name_key(s.full_name) for s in loose if not _blind(s)]
    for sub in loose:
        if _blind(sub):
            join.new(practical, sub.participant, sub.full_name)
            join.warnings.append(f"{practical}: participant {sub.participant} is anonymous (blind marking) "
                                 "and not in the worksheet; not joined to anyone")
        elif names.count(name_key(sub.full_name)) > 1:
            join.mark_ambiguous(sub.full_name)
            join.new(practical, sub.participant, sub.full_name, ambiguous=True)
            join.warnings.append(f"{practical}: several submissions by {sub.full_name!r}; participant "
                                 f"{sub.participant} kept apart (ambiguous)")
        else:
            why = f"{practical}: participant {sub.participant} is not in {ws.path}" if ws is not None else None
            _join_by_name(join, practical, sub.participant, sub.full_name, None, why=why)
    if ws is None and join.by_key and loose:
        join.warnings.append(f"{practical}: no worksheet; {len(loose)} submissions joined by name")


def _join_by_name(join: _Join, practical: str, n: str, full_name: str, email: str | None,
                  why: str | None) -> None:
    candidates = join.by_name_for(practical, full_name)
    if name_key(full_name) in join.ambiguous_names or len(candidates) > 1:
        join.mark_ambiguous(full_name)
        join.new(practical, n, full_name, None, email, ambiguous=True)
        join.warnings.append(f"{practical}: {full_name!r} (participant {n}) matches several people; kept apart")
    elif candidates:
        join.attach(candidates[0], practical, n, full_name)
        candidates[0].email = candidates[0].email or email
        if why:
            join.warnings.append(f"{why}; joined by name to {candidates[0].key or candidates[0].full_name}")
    else:
        join.new(practical, n, full_name, None, email)
        if why:
            join.warnings.append(f"{why}; no one of that name either, kept as a student of its own")


def _blind(sub: Submission) -> bool:
    return name_key(sub.full_name) in ("participant", "participante")


def _key_of(row: WorksheetRow, user_key: str) -> str | None:
    value = row.email if user_key == "email" else row.identity.get(user_key)
    return value.strip() if value and value.strip() else None


def _fold_key(key: str | None, user_key: str) -> str:
    # Mailboxes are matched without regard to case; ID numbers and usernames exactly.
    return (key or "").casefold() if user_key == "email" else (key or "")
