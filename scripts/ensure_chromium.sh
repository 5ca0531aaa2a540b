#!/usr/bin/env bash
# Makes sure a headless Chromium is on PATH, for the test that renders report.html to a PNG:
# installs Debian's `chromium` when missing (needs root and apt). Idempotent and quick when it is
# already there. Fails with one clear line when it cannot.
set -euo pipefail

log() { printf '[ensure_chromium] %s\n' "$*" >&2; }

if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    log "chromium is missing: install it (Debian: apt-get install chromium)"
    exit 1
fi
log "installing chromium"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends chromium >&2 || {
    apt-get update -q >&2 || true
    apt-get install -y -q --no-install-recommends chromium >&2
}
command -v chromium >/dev/null 2>&1 || { log "chromium was installed but is not on PATH"; exit 1; }
log "chromium is ready: $(chromium --version 2>/dev/null || echo unknown version)"
