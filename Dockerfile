# The runtime image of the docker runner: Python, torch, the notebook runtime and the grader itself.
# Build it with `grader image build` (it stages the context: this file, pyproject.toml, README.md,
# grader/, runtime-requirements.txt and wheelhouse/). runtime-requirements.txt is the repo's list of
# runtime packages (the one place it is written) with the grader's dependencies, pinned to the host's versions. Works with the classic builder
# (no BuildKit needed), online (empty wheelhouse: pip uses its index) or offline (wheels only).
# No secrets are baked in: nothing of the course, the labels or the results store is copied.

# A public PyTorch CUDA runtime image, so that a GPU server with a registry just works; CI and offline
# machines pass a debootstrap-made base (`docker import`) with --build-arg BASE_IMAGE=...
ARG BASE_IMAGE=pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime

# ---- stage 1: the heavy layers (a venv with the notebook runtime), built where wheels may lie around
FROM ${BASE_IMAGE} AS runtime
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
COPY runtime-requirements.txt /build/runtime-requirements.txt
COPY wheelhouse/ /build/wheelhouse/
# The venv sees the base's site-packages, so a torch that ships in the base (the CUDA build) is used
# as it is and never downloaded again; a base without torch gets it from the requirements.
RUN set -eu; \
    PY="$(command -v python3 || command -v python)"; \
    "$PY" -m venv --system-site-packages /opt/venv; \
    cp /build/runtime-requirements.txt /build/reqs.txt; \
    if /opt/venv/bin/python -c "import torch" 2>/dev/null; then \
        grep -v -i -E '^torch([<>=!~ ]|$)' /build/runtime-requirements.txt > /build/reqs.txt || true; \
    fi; \
    if ls /build/wheelhouse/*.whl >/dev/null 2>&1; then \
        FROM_WHEELS="--no-index --find-links /build/wheelhouse"; \
    else \
        FROM_WHEELS=""; \
    fi; \
    /opt/venv/bin/python -m pip install $FROM_WHEELS -r /build/reqs.txt; \
    /opt/venv/bin/python -c "import torch"; \
    /opt/venv/bin/python -c "import re, sys; from importlib.metadata import version; \
[version(re.split(r'[<>=!~ ]', line.strip())[0]) for line in open(sys.argv[1]) if line.strip() and not line.startswith('#')]" \
        /build/reqs.txt

# ---- stage 2: the image that runs submissions; the wheelhouse stays behind in stage 1
FROM ${BASE_IMAGE}
LABEL org.grader.image="runtime"
COPY --from=runtime /opt/venv /opt/venv
# uid 1000: the runner starts containers with an explicit --user anyway; this entry gives it a name.
RUN set -eu; \
    if ! grep -q '^[^:]*:[^:]*:1000:' /etc/passwd; then \
        grep -q '^[^:]*:[^:]*:1000:' /etc/group || echo 'grader:x:1000:' >> /etc/group; \
        echo 'grader:x:1000:1000:grader:/home/grader:/bin/sh' >> /etc/passwd; \
    fi; \
    mkdir -p /home/grader /work/scratch /data /probe /grader/spec /grader/run/out /grader/run/results \
        /grader/results; \
    chmod 1777 /home/grader /grader/run/out /grader/run/results /grader/results
# /grader/run/out and /grader/run/results (a run's) and /grader/results (a judge's) are where the runner mounts each
# container's own anonymous volumes: a new volume takes its mount point's mode, so 1777 lets the run's uid (any
# uid) write there. A run's two sit side by side so that both come back in one archive of /grader/run.
ENV PATH=/opt/venv/bin:$PATH \
    HOME=/home/grader \
    MPLBACKEND=Agg \
    KERAS_BACKEND=torch \
    MPLCONFIGDIR=/tmp/matplotlib \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# ---- the grader last: a change to it rebuilds only these layers
# reference/ is deliberately absent: the reference implementations must not be importable by a notebook
COPY pyproject.toml README.md /src/
COPY grader/ /src/grader/
RUN /opt/venv/bin/python -m pip install --no-deps --no-index --no-build-isolation /src \
    && rm -rf /src \
    && /opt/venv/bin/python -c "import grader.execution.local" \
    && ! /opt/venv/bin/python -c "import reference" 2>/dev/null

USER 1000:1000
WORKDIR /work/scratch
CMD ["python", "-c", "import sys, torch; print(sys.version.split()[0], torch.__version__, torch.cuda.is_available())"]
