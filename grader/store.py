"""The results store: one SQLite file per output folder, written one transaction per result.

Evaluations are keyed by their job key, so an interrupted batch resumes where it stopped and an
unchanged submission is never executed twice; scores are re-derived from them on every run.
Grades are stored as text (Decimal's own representation), never as REAL.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from grader.records import CheckResult, Evaluation, PracticalScore, Reason, Student

SCHEMA = """
CREATE TABLE IF NOT EXISTS evaluations (
    job_key      TEXT PRIMARY KEY,
    practical    TEXT NOT NULL,
    participant  TEXT NOT NULL,
    sha256       TEXT,
    status       TEXT NOT NULL,
    record       TEXT NOT NULL,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS evaluations_by_submission ON evaluations (practical, participant);
CREATE TABLE IF NOT EXISTS scores (
    practical    TEXT NOT NULL,
    participant  TEXT NOT NULL,
    full_name    TEXT,
    status       TEXT NOT NULL,
    score        TEXT,
    max_score    TEXT NOT NULL,
    late         TEXT NOT NULL,
    sha256       TEXT,
    duration_s   REAL,
    record       TEXT NOT NULL,
    updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (practical, participant)
);
CREATE TABLE IF NOT EXISTS students (
    position     INTEGER PRIMARY KEY,
    user_key     TEXT,
    full_name    TEXT NOT NULL,
    email        TEXT,
    participants TEXT NOT NULL,
    ambiguous    INTEGER NOT NULL
);
"""


class Store:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we open explicit transactions, one per result
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # evaluations -----------------------------------------------------------------
    def get_evaluation(self, job_key: str) -> Evaluation | None:
        row = self._db.execute("SELECT record FROM evaluations WHERE job_key = ?", (job_key,)).fetchone()
        return evaluation_from_json(json.loads(row[0])) if row else None

    def put_evaluation(self, evaluation: Evaluation) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO evaluations (job_key, practical, participant, sha256, status, record)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (evaluation.job_key, evaluation.practical, evaluation.participant, evaluation.sha256,
                 evaluation.status, json.dumps(evaluation_to_json(evaluation), ensure_ascii=False, default=str)),
            )

    def forget(self, practical: str | None = None, participant: str | None = None) -> int:
        """Drop stored evaluations so that they are graded again (``--force``)."""
        clauses, args = [], []
        if practical:
            clauses.append("practical = ?")
            args.append(practical)
        if participant:
            clauses.append("participant = ?")
            args.append(participant)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        with self._transaction():
            return self._db.execute("DELETE FROM evaluations" + where, args).rowcount

    def count_evaluations(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM evaluations").fetchone()[0]

    # scores ------------------------------------------------------------------------
    def put_scores(self, scores: list[PracticalScore]) -> None:
        with self._transaction():
            for s in scores:
                self._db.execute(
                    "INSERT OR REPLACE INTO scores (practical, participant, full_name, status, score,"
                    " max_score, late, sha256, duration_s, record) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (s.practical, s.participant, s.full_name, s.status,
                     None if s.score is None else str(s.score), str(s.max_score), s.late, s.sha256,
                     s.duration_s, json.dumps(score_to_json(s), ensure_ascii=False, default=str)),
                )

    def scores(self) -> list[PracticalScore]:
        rows = self._db.execute("SELECT record FROM scores ORDER BY practical, participant").fetchall()
        return [score_from_json(json.loads(r[0])) for r in rows]

    # the roster: who is who across practicals, as the batch joined them ------------------
    def put_students(self, students: list[Student]) -> None:
        """The course's students as ``grader grade`` joined them (its configured user key), replacing the last
        batch's: ``grader report`` grades exactly these people, never a join of its own."""
        with self._transaction():
            self._db.execute("DELETE FROM students")
            self._db.executemany(
                "INSERT INTO students (position, user_key, full_name, email, participants, ambiguous)"
                " VALUES (?,?,?,?,?,?)",
                [(i, s.key, s.full_name, s.email, json.dumps(s.participants, ensure_ascii=False), int(s.ambiguous))
                 for i, s in enumerate(students)])

    def students(self) -> list[Student]:
        rows = self._db.execute("SELECT user_key, full_name, email, participants, ambiguous FROM students"
                                " ORDER BY position").fetchall()
        return [Student(key=key, full_name=name, email=email, participants=json.loads(parts), ambiguous=bool(amb))
                for key, name, email, parts, amb in rows]

    def _transaction(self) -> "_Tx":
        return _Tx(self._db)


class _Tx:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


# JSON forms: Decimals as strings, Reasons as {code, params} ------------------------------
def _reason(r: Reason | None) -> dict[str, Any] | None:
    return None if r is None else r.to_json()


def _unreason(d: dict[str, Any] | None) -> Reason | None:
    return None if d is None else Reason.from_json(d)


def check_to_json(c: CheckResult) -> dict[str, Any]:
    return {"check_id": c.check_id, "kind": c.kind, "points": str(c.points), "max_points": str(c.max_points),
            "reason": c.reason.to_json(), "hidden": c.hidden, "details": c.details}


def check_from_json(d: dict[str, Any]) -> CheckResult:
    return CheckResult(d["check_id"], d["kind"], Decimal(d["points"]), Decimal(d["max_points"]),
                       Reason.from_json(d["reason"]), d.get("hidden", False), d.get("details", {}))


def evaluation_to_json(e: Evaluation) -> dict[str, Any]:
    return {"job_key": e.job_key, "practical": e.practical, "participant": e.participant, "sha256": e.sha256,
            "status": e.status, "checks": [check_to_json(c) for c in e.checks], "reason": _reason(e.reason),
            "duration_s": e.duration_s, "max_points": str(e.max_points),
            "notes": [n.to_json() for n in e.notes]}


def evaluation_from_json(d: dict[str, Any]) -> Evaluation:
    return Evaluation(d["job_key"], d["practical"], d["participant"], d["sha256"], d["status"],
                      tuple(check_from_json(c) for c in d["checks"]), _unreason(d["reason"]),
                      d["duration_s"], Decimal(d["max_points"]), tuple(Reason.from_json(n) for n in d["notes"]))


def score_to_json(s: PracticalScore) -> dict[str, Any]:
    data = asdict(s)
    data.update(score=None if s.score is None else str(s.score), max_score=str(s.max_score),
                penalty=str(s.penalty), reason=_reason(s.reason), checks=[check_to_json(c) for c in s.checks],
                notes=[n.to_json() for n in s.notes])
    return data


def score_from_json(d: dict[str, Any]) -> PracticalScore:
    return PracticalScore(
        **{**d, "score": None if d["score"] is None else Decimal(d["score"]), "max_score": Decimal(d["max_score"]),
           "penalty": Decimal(d["penalty"]), "reason": _unreason(d["reason"]),
           "checks": tuple(check_from_json(c) for c in d["checks"]),
           "notes": tuple(Reason.from_json(n) for n in d.get("notes", []))})
