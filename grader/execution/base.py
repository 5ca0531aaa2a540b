"""What every runner accepts and promises: a RunRequest in, a RunResult out, never an exception.

A runner executes one notebook copy with the grader's parameters and extra cells; it never grades,
never reads evaluation labels, and never modifies the notebook it was handed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.errors import ConfigError
from grader.records import RunResult
from grader.config_types import validated
from grader.execution import pool

# The kernel's Keras backend unless the course chooses another (course.toml `keras_backend`, in env):
# Keras 3 under torch runs on the same torch the grader probes with, and needs no other framework.
KERAS_BACKEND = {"KERAS_BACKEND": "torch"}


# Marks in an extra cell that the runner replaces with the kernel's own paths of the probe and out folders: the
# grader says where they are in the cell it appends, never in a variable of the kernel's environment.
PROBE_DIR_MARK, OUT_DIR_MARK = "__GRADER_KERNEL_PROBE_DIR__", "__GRADER_KERNEL_OUT_DIR__"
EXECUTED_NAME = "executed.ipynb"   # the executed copy, in a run's work_dir (grader/out_layout.py finds it there)


# An exported program among a run's expected outputs is named "program-<object>.npz" (grader.checks.plan): a runner
# whose judge needs a warm-up sees from the request that this run will need its judge.
PROGRAM_PREFIX = "program-"


def with_kernel_dirs(cell: str, probe_dir: str | Path, out_dir: str | Path) -> str:
    return cell.replace(PROBE_DIR_MARK, repr(str(probe_dir))).replace(OUT_DIR_MARK, repr(str(out_dir)))


@dataclass(frozen=True)
class RunRequest:
    notebook: Path               # as handed in (never modified)
    work_dir: Path               # the runner's; after run() it holds only executed.ipynb, run.json,
                                 # runner.log and out/ (the expected outputs), besides probe_dir
    probe_dir: Path              # prepared by the caller; offered read-only (under local: just a path)
    data_dir: Path | None        # the student-visible data folder (no evaluation labels)
    parameters: dict[str, Any]   # injected by papermill after the cell tagged `parameters`
    extra_cells: tuple[str, ...]  # code appended after the student's cells; runs even if a student cell raised
    timeout_s: float             # whole run, wall clock
    cell_timeout_s: float        # per cell
    env: dict[str, str] = field(default_factory=dict)
    # offline caches of students' usual download calls, made from data_dir (grader.dataset_caches)
    dataset_caches: tuple[str, ...] = ()
    # (file name in out/, byte cap): all that comes back of what the notebook's side wrote to out/; each
    # only as a regular file within its cap (the run folder then holds only files the host made)
    expected_outputs: tuple[tuple[str, int], ...] = ()
    # modules every kernel of the practical imports anyway ([execution] preload): a warm runner imports them once
    preload: tuple[str, ...] = ()

    @property
    def scratch_dir(self) -> Path:
        return self.work_dir / "scratch"

    @property
    def out_dir(self) -> Path:
        return self.work_dir / "out"

    @property
    def executed_path(self) -> Path:
        return self.work_dir / EXECUTED_NAME


@dataclass(frozen=True)
class JudgeRequest:
    """One program to judge (grader.judge): ``folder`` holds it and its items' inputs; ``spec`` names them."""

    folder: Path                 # the host's own folder: program.npz, <item>.inputs.npy, ...
    spec: dict[str, Any]         # {"program": file, "items": [...]}; the runner adds where answers go
    timeout_s: float
    env: dict[str, str] = field(default_factory=dict)   # the run's (GPU, batch mark)
    # the practical's work folder, where a runner may keep the folders of a judge started ahead for the next
    # program (never this job's own folder, which goes when the job ends); None: nothing is started ahead
    warm_dir: Path | None = None


@dataclass(frozen=True)
class JudgeRun:
    """Where the judge's answers are, or why there are none (``problem``, a phrase for the student's page)."""

    answers: Path | None
    problem: str | None = None
    seconds: float = 0.0


class Runner:
    """Base of every runner backend; subclasses set ``name`` and implement ``run``.

    The class-level hooks are what the pipeline, the Dask backend, the course loader and the CLI ask a
    runner, so none of them ever names one: its course.toml table, its GPUs, its leftovers.
    """

    name: str = ""
    options_table: str | None = None   # the course.toml table this runner owns ("docker"); None: no options
    isolated: bool = False             # False: students' code runs as the grader's user (the CLI says so)

    # the declared schema of its table (a pydantic model, extra keys forbidden); None: no options at all
    options_model: type | None = None

    @classmethod
    def validate_options(cls, raw: dict, where: str) -> dict:
        """The keyword options for the constructor from the runner's raw table, by ``options_model``;
        ConfigError naming "<where>: <table>.<key>: <problem>". Without a model, only an empty table."""
        table = cls.options_table or cls.name
        if cls.options_model is None:
            if raw:
                raise ConfigError(f"{where}: {table}.{sorted(raw)[0]}: unknown key (the {cls.name} runner has "
                                  "no options)", key=f"{table}.{sorted(raw)[0]}")
            return {}
        return validated(cls.options_model, raw, where, table).model_dump(exclude_unset=True)

    @classmethod
    def assign_gpus(cls, options: dict, gpus: Any, workers: int | None) -> tuple[dict, list[str]]:
        """For the local pool: the options to build the runner with, and the GPU slots the pool hands
        out (one per running job, as CUDA_VISIBLE_DEVICES). ``gpus`` as --gpus gave it (None: detect);
        ``workers``: the jobs at once asked for (None: ``default_workers`` decides)."""
        return dict(options), pool.gpu_ids(gpus)

    @classmethod
    def default_workers(cls, options: dict, slots: list[str]) -> int:
        """Jobs at once when neither the course nor the command line says: one per GPU, else per core."""
        return len(slots) or pool.cpu_count()

    @classmethod
    def cluster_options(cls, options: dict, gpus: Any) -> tuple[dict, bool]:
        """For a Dask cluster: the options workers build the runner with, and whether each job needs a
        worker's GPU resource."""
        return dict(options), gpus not in (None, False, 0, "", "none")

    @classmethod
    def stop_leftovers(cls, mark: str) -> int:
        """Stop what runs of the batch ``mark`` left outside the host's processes (containers); returns
        how many. The batch's marked processes are stopped by the marker for every runner."""
        return 0

    def run(self, request: RunRequest) -> RunResult:
        raise NotImplementedError(f"runner {type(self).__name__} does not implement run()")

    def warm_up(self, preload: tuple[str, ...], env: dict[str, str], runs: int) -> None:
        """Start, in the background, what the batch's first ``runs`` runs will need (a warm runner's fork servers),
        while the batch is still being prepared: ``preload`` and ``env`` as its RunRequests will carry them.
        Never waits, never raises: a run that finds nothing ready starts it itself."""

    def stop(self) -> None:
        """Stop every run in flight, now (Ctrl-C): the jobs then see their runs gone. Called from another thread."""

    def close(self) -> None:
        """The batch is over: release what the runner kept warm between runs (fork servers, containers)."""

    def judge(self, request: JudgeRequest) -> JudgeRun:
        """Run the judge on one exported program where no student code runs: by default a child process of
        the grader's interpreter, capped in memory and time (grader.execution.judge_process)."""
        # start-up: the judge's child-process launcher only when a model is judged (it imports this module's records)
        from grader.execution.judge_process import judge_in_child

        return judge_in_child(request)
