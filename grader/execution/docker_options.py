"""The ``[docker]`` table of course.toml: the docker runner's options, declared once (pydantic).

Validates and documents only: it imports neither docker nor the runner (the runner's own defaults
live in ``grader/execution/docker.py``; the ``doc`` defaults below repeat them for the README).
"""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from grader.config_types import Boolean, Table, Text, doc, integer, kind_of, problem, validated

TABLE = "docker"
MAX_UID = 2**31 - 1     # 0 would be root; above 2**31 - 1 some tools take a uid for negative


def _cpus(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise problem(f"must be a positive number of CPUs, not {kind_of(value)}")
    return float(value)


def _gpus(value: Any) -> Any:
    whole = lambda g: isinstance(g, int) and not isinstance(g, bool)     # noqa: E731
    if value == "all" or (whole(value) and value >= 0) or (isinstance(value, list) and all(map(whole, value))):
        return value
    raise problem(f'must be "all", a number of GPUs or a list of GPU indices, not {value!r}')


def _share_gpus(value: Any) -> bool:
    if not isinstance(value, bool):
        raise problem(f"must be true or false, not {kind_of(value)}")
    return value


def _uid(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_UID:
        raise problem(f"must be a uid from 1 to {MAX_UID} that no account of the host uses (e.g. 1000000), "
                      f"not {value!r}")
    return value


Megabytes = integer(1)


class DockerOptions(Table):
    """All optional; a key left out takes the runner's own default."""

    image: Text = Field(None, **doc("string", '"grader-runtime:latest"', "the runtime image every container runs"))
    memory: Text = Field(None, **doc("string", '"4g"', "memory limit of one container; swap is the same"))
    cpus: Annotated[float, BeforeValidator(_cpus)] = Field(None, **doc("number > 0", "2", "CPU quota of one "
                                                                       "container"))
    pids: integer(1) = Field(None, **doc("int ≥ 1", "256", "process limit of one container"))
    gpus: Annotated[Any, BeforeValidator(_gpus)] = Field(None, **doc(
        '"all", int or [ints]', "none", "GPUs the jobs may use, one per concurrent job"))
    share_gpus: Annotated[bool, BeforeValidator(_share_gpus)] = Field(None, **doc(
        "bool", "false", "let concurrent jobs share a GPU"))
    tmpfs_mb: Megabytes = Field(None, **doc("int ≥ 1", "512", "size of the `/tmp` tmpfs"))
    home_mb: Megabytes = Field(None, **doc("int ≥ 1", "256", "size of the HOME tmpfs"))
    shm_mb: Megabytes = Field(None, **doc("int ≥ 1", "256", "size of `/dev/shm`"))
    file_mb: Megabytes = Field(None, **doc("int ≥ 1", "1024", "largest file a notebook may write (scratch or "
                                                              "out)"))
    scratch_mb: Megabytes = Field(None, **doc("int ≥ 1", "1024", "size of the scratch tmpfs (the notebook's "
                                                                 "working folder); counted in the container's "
                                                                 "`memory`"))
    warm: Boolean = Field(None, **doc("bool", "true", "start the next submission's container (its kernel up, the "
                                                   "practical's preloads imported) while the current one runs, and the "
                                                   "next program's judge (torch imported) once a judge is done; still "
                                                   "one container per submission and per program"))
    uid: Annotated[int, BeforeValidator(_uid)] = Field(None, **doc(
        "int, 1 to 2³¹−1", "1000000", "the uid (and gid) the containers run as; pick one no host account has. "
        "Only a grader running as root can use it; otherwise runs use the grader's own uid"))


def validate_options(raw: Any, where: str) -> dict[str, Any]:
    """The keyword options of DockerRunner from the ``[docker]`` table; ConfigError
    "<where>: docker.<key>: <problem>" (``where`` is the course file)."""
    options = validated(DockerOptions, raw, where, TABLE)
    return options.model_dump(exclude_unset=True)
