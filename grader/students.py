"""Join one person across practicals: by the rosters' user key, else by name.

Never joins by the LMS's blind-marking word ("Participant"), and never merges two people
who share a name: such students are flagged ``ambiguous`` and the instructor is warned. Names and keys
are compared as the course's LMS writes them (grader/lms/base.py: ``name_key``, ``match_key``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from grader.lms.base import Lms
from grader.records import PracticalRoster, Student, Submission


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

    def __init__(self, lms: Lms) -> None:
        self.lms = lms
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
            self.by_key[self.lms.match_key(key)] = person
        self.attach(person, practical, n, full_name)
        return person

    def attach(self, person: _Person, practical: str, n: str, full_name: str) -> None:
        person.participants[practical] = n
        self.by_n[(practical, n)] = person
        key = self.lms.name_key(full_name)
        if key and person not in self.by_name.setdefault(key, []):
            self.by_name[key].append(person)

    def by_name_for(self, practical: str, full_name: str) -> list[_Person]:
        """People of that name still free in this practical."""
        return [p for p in self.by_name.get(self.lms.name_key(full_name), []) if practical not in p.participants]

    def mark_ambiguous(self, full_name: str) -> None:
        key = self.lms.name_key(full_name)
        self.ambiguous_names.add(key)
        for person in self.by_name.get(key, []):
            person.ambiguous = True


def join_students(submissions: dict[str, list[Submission]], rosters: dict[str, PracticalRoster | None],
                  lms: Lms) -> Roster:
    """Everyone in the rosters and the submissions, once each; see the module docstring."""
    join = _Join(lms)
    for practical, roster in rosters.items():
        if roster is not None:
            _join_roster(join, practical, roster)
    for practical, subs in submissions.items():
        _join_submissions(join, practical, subs, rosters.get(practical))
    people = sorted(join.people, key=lambda p: (lms.name_key(p.full_name), p.key or "",
                                               sorted(p.participants.items())))
    students = [Student(key=p.key, full_name=p.full_name, email=p.email, participants=dict(p.participants),
                        ambiguous=p.ambiguous) for p in people]
    return Roster(students=students, warnings=join.warnings)


def _join_roster(join: _Join, practical: str, roster: PracticalRoster) -> None:
    for n, row in roster.rows.items():
        full_name = row.full_name or f"Participant {n}"
        key = row.key
        person = join.by_key.get(join.lms.match_key(key)) if key else None
        if person is not None and practical in person.participants:
            join.warnings.append(f"{roster.source}: {key} appears in two rows (participants "
                                 f"{person.participants[practical]} and {n}); the second is kept apart")
            join.new(practical, n, full_name, None, row.email, ambiguous=True)
        elif person is not None:
            join.attach(person, practical, n, full_name)
            person.email = person.email or row.email
        elif key:
            join.new(practical, n, full_name, key, row.email)
        elif row.full_name:
            # a missing column was warned about once by the LMS; an empty cell is worth its own line
            why = f"{roster.source}: row of {n} has no {roster.key_name}" if roster.keyed else None
            _join_by_name(join, practical, n, full_name, row.email, why=why)
        else:
            join.new(practical, n, full_name)


def _join_submissions(join: _Join, practical: str, subs: list[Submission], roster: PracticalRoster | None) -> None:
    loose = [s for s in subs if (practical, s.participant) not in join.by_n]
    names = [join.lms.name_key(s.full_name) for s in loose if not join.lms.is_blind(s.full_name)]
    for sub in loose:
        if join.lms.is_blind(sub.full_name):
            join.new(practical, sub.participant, sub.full_name)
            join.warnings.append(f"{practical}: participant {sub.participant} is anonymous (blind marking) "
                                 "and not in the worksheet; not joined to anyone")
        elif names.count(join.lms.name_key(sub.full_name)) > 1:
            join.mark_ambiguous(sub.full_name)
            join.new(practical, sub.participant, sub.full_name, ambiguous=True)
            join.warnings.append(f"{practical}: several submissions by {sub.full_name!r}; participant "
                                 f"{sub.participant} kept apart (ambiguous)")
        else:
            why = f"{practical}: participant {sub.participant} is not in {roster.source}" if roster is not None else None
            _join_by_name(join, practical, sub.participant, sub.full_name, None, why=why)
    if roster is None and join.by_key and loose:
        join.warnings.append(f"{practical}: no worksheet; {len(loose)} submissions joined by name")


def _join_by_name(join: _Join, practical: str, n: str, full_name: str, email: str | None,
                  why: str | None) -> None:
    candidates = join.by_name_for(practical, full_name)
    if join.lms.name_key(full_name) in join.ambiguous_names or len(candidates) > 1:
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
