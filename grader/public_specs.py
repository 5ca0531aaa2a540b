"""Public copies of the assignment specs, for students who install the grader with pip (Colab).

A student's package needs each practical's assignment.toml to self-check, but a hidden check's
name, options and thresholds must never reach students: each hidden check becomes a placeholder
that keeps only its points, so estimates still add up to the practical's maximum.
Used at wheel-build time (setup.py); never imports anything heavy.
"""
from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

PUBLIC_DIR = Path(__file__).parent / "public_assignments"   # inside an installed wheel
_CHECKS = re.compile(r"^\[\[checks\]\]\s*(#.*)?$", re.MULTILINE)
_COPIED = ("template.ipynb", "messages.toml")   # a practical's own messages: its reference's reasons render


def public_spec(text: str) -> str:
    """assignment.toml with every hidden check reduced to a placeholder carrying only its points."""
    starts = [m.start() for m in _CHECKS.finditer(text)]
    if not starts:
        return text
    head, blocks = text[:starts[0]], [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)])]
    hidden = 0
    out = [head]
    for block in blocks:
        check = tomllib.loads(block)["checks"][0]
        if not check.get("hidden", False):
            out.append(block)
            continue
        hidden += 1
        points = check["points"]
        points = f'"{points}"' if isinstance(points, str) else str(points)
        # a notebook check with default facts: valid everywhere, judged by nobody (selfcheck skips hidden ones)
        out.append(f'[[checks]]\nid = "hidden_{hidden}"\nkind = "notebook"\npoints = {points}\nhidden = true\n\n')
    return "".join(out)


def write_public_assignments(source: Path, dest: Path) -> list[str]:
    """Copy every practical of ``source`` (assignments/) into ``dest`` as students may see it."""
    written = []
    for spec in sorted(Path(source).glob("*/assignment.toml")):
        target = Path(dest) / spec.parent.name
        target.mkdir(parents=True, exist_ok=True)
        (target / "assignment.toml").write_text(public_spec(spec.read_text(encoding="utf-8")), encoding="utf-8")
        for name in _COPIED:
            if (spec.parent / name).is_file():
                shutil.copyfile(spec.parent / name, target / name)
        written.append(spec.parent.name)
    return written
