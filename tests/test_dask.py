"""The same jobs on a Dask cluster: a LocalCluster stores what the local pool stores."""
from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from grader.course import load_course
from grader.errors import ConfigError
from grader.execution.dask_backend import parse_address
from grader.pipeline import grade_course
from tiny_course import tiny_course


def _stored_records(out_dir: Path) -> dict[str, dict]:
    """Stored evaluations by job key, without what differs between two runs (time, the drawn inputs)."""
    with closing(sqlite3.connect(out_dir / "grader.sqlite")) as db:
        rows = db.execute("SELECT job_key, record FROM evaluations").fetchall()
    records = {}
    for key, text in rows:
        record = json.loads(text)
        record.pop("duration_s")
        for check in record["checks"]:
            check.pop("details", None)
        records[key] = record
    return records


@pytest.mark.slow
def test_local_cluster_stores_the_same_results_as_the_local_pool(tmp_path):
    course = load_course(tiny_course(tmp_path, 2, side_effects=False))
    on_pool = grade_course(course, tmp_path / "pool", workers=2)
    on_dask = grade_course(course, tmp_path / "dask", dask="local:2")
    assert on_pool.executed == on_dask.executed == 2
    pool_records, dask_records = _stored_records(tmp_path / "pool"), _stored_records(tmp_path / "dask")
    assert len(pool_records) == 2
    assert dask_records == pool_records
    assert {r["status"] for r in dask_records.values()} == {"graded"}
    assert [(s.participant, s.score) for s in on_dask.scores] == [(s.participant, s.score) for s in on_pool.scores]


def test_dask_addresses_are_understood_or_refused():
    assert parse_address("local:3") == ("local", 3)
    assert parse_address("tcp://10.0.0.5:8786") == ("remote", "tcp://10.0.0.5:8786")
    assert parse_address("scheduler.cluster:8786") == ("remote", "scheduler.cluster:8786")
    for bad in ("local:0", "local:many", "nowhere"):
        with pytest.raises(ConfigError, match="--dask"):
            parse_address(bad)
