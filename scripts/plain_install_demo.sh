#!/usr/bin/env bash
# An instructor's install, checked: a fresh venv, the CPU torch, then `pip install -e .` WITHOUT extras,
# and the demo course graded with it. A module the package imports but does not declare fails here.
# (torch is installed first only so that pip takes the CPU build on disk instead of a multi-GB CUDA one.)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
work="$(mktemp -d /tmp/grader-plain.XXXXXX)"
trap 'rm -rf "$work"' EXIT
"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --upgrade pip
"$work/venv/bin/python" -m pip install -q torch==2.13.0
"$work/venv/bin/python" -m pip install -q -e .
"$work/venv/bin/python" ../shared/tools/undeclared_imports.py . || true   # informative: what a plain install lacks
"$work/venv/bin/grader" grade examples/demo/course.toml --out "$work/out" --quiet
test -s "$work/out/moodle/course.csv"
echo "plain install: the demo course was graded without extras"
