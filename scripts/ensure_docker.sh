#!/usr/bin/env bash
# Makes sure a Docker daemon answers, for the docker runner's tests: installs Debian's docker.io and
# debootstrap when missing (needs root and apt), starts dockerd when it is not running, waits for it.
# Idempotent and quick when Docker is already up. Fails with one clear line when it cannot.
set -euo pipefail

log() { printf '[ensure_docker] %s\n' "$*" >&2; }

if docker info >/dev/null 2>&1 && command -v debootstrap >/dev/null; then
    exit 0
fi
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        log "missing ${missing[*]}: install them (Debian: apt-get install ${missing[*]}) and start dockerd"
        exit 1
    fi
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2 || true
    apt-get install -y -q "${missing[@]}" >&2
fi
if ! docker info >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
        log "the Docker daemon is not running and only root can start it here: start dockerd"
        exit 1
    fi
    log "starting dockerd (log: /tmp/grader-dockerd.log)"
    setsid dockerd >/tmp/grader-dockerd.log 2>&1 < /dev/null &
    for _ in $(seq 60); do
        docker info >/dev/null 2>&1 && break
        sleep 1
    done
    if ! docker info >/dev/null 2>&1; then
        log "dockerd did not answer within 60 s; its last lines:"
        tail -n 20 /tmp/grader-dockerd.log >&2 || true
        exit 1
    fi
fi
log "docker is up: $(docker version --format '{{.Server.Version}}')"
