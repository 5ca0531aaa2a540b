#!/usr/bin/env bash
# Builds, without any registry, the two images the docker runner's tests use, and prints the runtime
# image's tag as the last line of stdout (everything else goes to stderr):
#   1. a base image: a Debian debootstrap root file system (python3, venv) made into an image by `docker import`;
#   2. the project's Dockerfile on it (BASE_IMAGE=that base), with a wheelhouse made by `pip download` here.
# Both are cached by tag: the base by its debootstrap recipe, the runtime image by a hash of the Dockerfile,
# the wheel list, the base and the grader's sources; a re-run with nothing changed builds nothing.
# Env: PYTHON (the grader's Python, default .venv/bin/python), ROOTFS (an existing debootstrap tree to
# reuse), DEBIAN_MIRROR, SUITE. Needs root for debootstrap (only when the base is not cached yet).
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3)"
SUITE="${SUITE:-bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
INCLUDE="python3,python3-venv,ca-certificates"
RECIPE="debootstrap --variant=minbase --include=$INCLUDE $SUITE (recipe 1)"
BASE_TAG="grader-base:${SUITE}-$(printf '%s' "$RECIPE" | sha256sum | cut -c1-12)"

log() { printf '[build_test_images] %s\n' "$*" >&2; }

command -v docker >/dev/null || { log "docker CLI not found: install docker.io"; exit 1; }
docker info >/dev/null 2>&1 || { log "docker daemon unreachable: start dockerd first"; exit 1; }

if docker image inspect "$BASE_TAG" >/dev/null 2>&1; then
    log "base image $BASE_TAG cached"
else
    started=$(date +%s)
    if [ -n "${ROOTFS:-}" ] && [ -x "$ROOTFS/usr/bin/python3" ]; then
        log "reusing the debootstrap tree $ROOTFS"
        rootfs="$ROOTFS"
    else
        command -v debootstrap >/dev/null || { log "debootstrap not found: install it"; exit 1; }
        workdir="$(mktemp -d /tmp/grader-rootfs.XXXXXX)"
        trap 'rm -rf "$workdir"' EXIT
        rootfs="$workdir/rootfs"
        log "debootstrap $SUITE into $rootfs (about a minute)"
        debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$rootfs" "$MIRROR" >&2
    fi
    # apt's lists and caches are dead weight in an image that never runs apt
    tar -C "$rootfs" --exclude=./var/cache/apt/archives --exclude=./var/lib/apt/lists \
        --exclude=./proc --exclude=./sys --exclude=./dev -c . \
      | docker import \
          --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
          --change 'ENV LANG=C.UTF-8' \
          --change 'CMD ["python3"]' \
          - "$BASE_TAG" >&2
    log "base image $BASE_TAG made in $(( $(date +%s) - started )) s"
fi

TAG="$("$PY" -c 'import sys; from grader.docker_image import content_tag, runtime_requirements
print(content_tag(runtime_requirements(), sys.argv[1]))' "$BASE_TAG")"

if docker image inspect "$TAG" >/dev/null 2>&1; then
    log "runtime image $TAG cached"
else
    "$PY" - "$BASE_TAG" "$TAG" >&2 <<'PYEOF'
import sys
from grader.docker_image import build_image

report = build_image(sys.argv[1], sys.argv[2], None, log=lambda line: print(line, file=sys.stderr))
print(f"runtime image {report.tag}: {report.size_mb} MB, {report.wheels} wheels, built in {report.seconds} s",
      file=sys.stderr)
PYEOF
fi
docker tag "$TAG" grader-runtime:test
echo "$TAG"
