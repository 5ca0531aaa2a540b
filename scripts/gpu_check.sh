#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: proves torch.cuda.is_available() inside the docker runner's container,
# then grades the MNIST solution on the GPU in that container and prints the time. Where this machine has
# no Docker daemon, it proves the local runner's GPU path instead, and says so. Paste its output, with the
# date and the GPU, into the README.
# Env: PYTHON (default .venv/bin/python), IMAGE (default grader-runtime:latest; built with `grader image
# build` when missing), DATA (the MNIST data folder, default ../shared/data/mnist), GPUS (default all).
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3)"
IMAGE="${IMAGE:-grader-runtime:latest}"
DATA="${DATA:-../shared/data/mnist}"
GPUS="${GPUS:-all}"
SOLUTION="assignments/mnist_cnn/solution.ipynb"
OUT="$(mktemp -d /tmp/grader-gpu-check.XXXXXX)"
trap 'rm -rf "$OUT"' EXIT

echo "== grader GPU check, $(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname)"
if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/GPU: /'
else
    echo "GPU: nvidia-smi not found (no NVIDIA driver here?)"
fi
[ -f "$SOLUTION" ] || { echo "missing $SOLUTION" >&2; exit 1; }
[ -d "$DATA" ] || { echo "missing MNIST data folder $DATA (set DATA=...)" >&2; exit 1; }

if docker info >/dev/null 2>&1; then
    MODE=docker
else
    MODE=local
    echo "NOTE: no Docker daemon reachable here: proving the LOCAL runner's GPU path only (no container)."
fi

MODE="$MODE" IMAGE="$IMAGE" DATA="$DATA" GPUS="$GPUS" OUT="$OUT" SOLUTION="$SOLUTION" "$PY" - <<'PYEOF'
import os
import sys
import time
from pathlib import Path

from grader.course import single_practical_course
from grader.execution import register
from grader.pipeline import grade_course

mode, image, gpus = os.environ["MODE"], os.environ["IMAGE"], os.environ["GPUS"]
out = Path(os.environ["OUT"])

if mode == "docker":
    from grader.execution.docker import DockerRunner
    from grader.docker_image import build_image, check_image

    report = check_image(image, gpus=gpus)
    if not report.exists:
        print(f"image {image} missing: building it (grader image build, default CUDA base)")
        build = build_image(None, image, None, use_index=True, log=lambda line: None)
        print(f"built {build.tag}: {build.size_mb} MB in {build.seconds} s")
        report = check_image(image, gpus=gpus)
    print(f"image {image}: python {report.python}, torch {report.torch}, CUDA {report.cuda_version}, "
          f"torch.cuda.is_available() in the runner container: {report.cuda_available}")
    if not report.cuda_available:
        sys.exit("FAIL: CUDA is not available inside the container (NVIDIA container toolkit installed?)")

    class GpuDockerRunner(DockerRunner):
        def __init__(self, **options):
            super().__init__(image=image, gpus=gpus, memory="8g", cpus=4, **options)

    register("docker-gpu-check", GpuDockerRunner)
    runner_name = "docker-gpu-check"
else:
    import torch

    print(f"local runner: torch {torch.__version__}, CUDA {torch.version.cuda}, "
          f"torch.cuda.is_available(): {torch.cuda.is_available()}")
    if not torch.cuda.is_available():
        sys.exit("FAIL: CUDA is not available to the local runner's Python")
    runner_name = "local"

course = single_practical_course("mnist_cnn", [Path(os.environ["SOLUTION"])], Path(os.environ["DATA"]), out)
started = time.monotonic()
result = grade_course(course, out / "results", runner_name=runner_name)
seconds = time.monotonic() - started
for score in result.scores:
    print(f"MNIST solution under the {mode} runner on the GPU: {score.status}, "
          f"{score.score}/{score.max_score}, run {score.duration_s} s, total {seconds:.1f} s")
if not result.scores or result.scores[0].status != "graded":
    sys.exit("FAIL: the solution was not graded")
PYEOF
