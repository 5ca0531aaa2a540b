"""Public copies of the assignment specs, for students who install the grader with pip (Colab).

A student's package needs each practical's assignment.toml to self-check, but a hidden check's
name, options and thresholds must never reach students: each hidden check becomes a placeholder
that keeps only its points, so estimates still add up to the practical's maximum.
Used at wheel-build time (setup.py); never imports anything heavy.
"""
from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import tomli_w

PUBLIC_DIR = Path(__file__).parent / "public_assignments"   # inside an installed wheel
# a practical's own messages: its reference's reasons render; the record of where its solution prints:
# the self-check judges "executed" by it
_COPIED = ("template.ipynb", "template_keras.ipynb", "messages.toml", "template_outputs.json")


def public_spec(text: str) -> str:
    """assignment.toml with every hidden check reduced to a placeholder carrying only its points.

    A spec without hidden checks is shipped byte for byte (comments kept); otherwise the redacted
    tables are written back with a TOML writer (tomli-w), never edited as text."""
    data = tomllib.loads(text)
    checks = data.get("checks")
    if not isinstance(checks, list) or not any(isinstance(c, dict) and c.get("hidden") is True for c in checks):
        return text
    hidden = 0
    public = []
    for check in checks:
        if not (isinstance(check, dict) and check.get("hidden") is True):
            public.append(check)
            continue
        hidden += 1
        # a notebook check with default facts: valid everywhere, judged by nobody (selfcheck skips hidden ones)
        public.append({"id": f"hidden_{hidden}", "kind": "notebook", "points": check["points"], "hidden": True})
    return tomli_w.dumps({**data, "checks": public})


def write_public_assignments(source: Path, dest: Path) -> list[str]:
    """Copy every practical of ``source`` (assignments/) into ``dest`` as students may see it (the instructor's
    install; the student wheel's copies are grader.public_cases's)."""
    shutil.rmtree(dest, ignore_errors=True)      # nothing of an earlier build's kind stays
    written = []
    for spec in sorted(Path(source).glob("*/assignment.toml")):
        target = Path(dest) / spec.parent.name
        target.mkdir(parents=True, exist_ok=True)
        (target / "assignment.toml").write_text(public_spec(spec.read_text(encoding="utf-8")), encoding="utf-8")
        copy_public_files(spec.parent, target)
        written.append(spec.parent.name)
    return written


def copy_public_files(source: Path, target: Path) -> None:
    """Beside a public spec: the templates, the practical's messages and the record of where its solution
    prints."""
    for name in _COPIED:
        if (source / name).is_file():
            shutil.copyfile(source / name, target / name)
