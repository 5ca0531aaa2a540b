"""Where things appear inside a docker runner's container: the mount points, and a request's host paths (in its
parameters and environment, e.g. ``data_dir``) rewritten to them. Names places only: it mounts nothing.
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path, PurePath, PurePosixPath
from typing import Any

from grader.execution.base import RunRequest

# Where the mounts appear inside the container.
SCRATCH, DATA, PROBE, SPEC = "/work/scratch", "/data", "/probe", "/grader/spec"   # the child's spec: read-only
# A run's two volumes, side by side under one folder of the image: what the probe writes (out) and what the child
# leaves (results) come back in one archive of their parent, one daemon call (some 50 ms of its CPU) instead of two.
RUN_DIR = "/grader/run"
OUT, RESULTS = f"{RUN_DIR}/out", f"{RUN_DIR}/results"
PYTHON = "/opt/venv/bin/python"
HOME = "/home/grader"
KERAS_HOME = f"{HOME}/.keras"   # in the HOME tmpfs: Keras's config and its dataset cache (grader.dataset_caches)


def in_container_paths(request: RunRequest) -> RunRequest:
    """The request with host paths in parameters and env (e.g. ``data_dir``) rewritten to the mounts."""
    mounts = [(request.scratch_dir, SCRATCH), (request.out_dir, OUT), (Path(request.probe_dir), PROBE)]
    if request.data_dir is not None:
        mounts.append((Path(request.data_dir), DATA))
    mounts = [(host.resolve(), inner) for host, inner in mounts]

    def translate(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: translate(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(translate(v) for v in value)
        if isinstance(value, (str, PurePath)) and os.path.isabs(str(value)):
            path = Path(os.path.abspath(value))
            for host, inner in mounts:
                if path == host or host in path.parents:
                    return str(PurePosixPath(inner, path.relative_to(host)))
        return value

    return replace(request, parameters=translate(request.parameters),
                   env={k: translate(v) for k, v in request.env.items()})
