"""`make check` runs the linter first: a module with an unused import fails it before any test runs."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_make_check_lints_before_it_tests():
    recipe = (ROOT / "Makefile").read_text(encoding="utf-8").split("\ncheck:", 1)[1].split("\n\n", 1)[0]
    lines = [line.strip() for line in recipe.splitlines()[1:]]
    assert lines[0].endswith("ruff check .") and "pytest" in lines[1], lines


@pytest.mark.slow
def test_the_projects_lint_rules_refuse_a_planted_unused_import(tmp_path):
    planted = ROOT / "grader" / "_planted_by_test_lint.py"
    planted.write_text('"""A module the linter must refuse."""\nimport os\n', encoding="utf-8")
    try:
        found = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise", "."],
                               cwd=ROOT, capture_output=True, text=True, timeout=120)
    finally:
        planted.unlink()
    assert found.returncode == 1 and "_planted_by_test_lint.py:2:8: F401" in found.stdout, found.stdout
    clean = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT, capture_output=True, text=True,
                           timeout=120)
    assert clean.returncode == 0, clean.stdout
