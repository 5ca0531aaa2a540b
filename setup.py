"""Only for build steps pyproject.toml cannot express: ship public copies of assignments/, and the student wheel.

A wheel installed in Colab has no repository beside it, so grader.selfcheck() would know no
practical; hidden checks are redacted on the way (grader/public_copies.py).

``STUDENT_WHEEL=1`` builds the wheel students install: no ``reference`` package at all, and each public
function check carries fixed inputs with the reference's outputs computed now (grader/public_cases.py).
Its requirements are ``[tool.grader.student-wheel] dependencies`` of pyproject.toml, in place of the
instructor's dependencies and extras (no docker, copydetect, efficientnet; keras for the Keras editions).
It imports the grader and reference/ while building, so build it in the grader's environment:
``STUDENT_WHEEL=1 python -m pip wheel --no-deps --no-build-isolation -w dist .`` (``make student-wheel``).
Without it (``pip install -e .``, ``pip install .``) the instructor's install keeps reference/ and the
dependencies of ``[project]``.
"""
import os
import shutil
import sys
import tomllib
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

ROOT = Path(__file__).resolve().parent
STUDENT = os.environ.get("STUDENT_WHEEL", "") not in ("", "0")
INSTRUCTOR_ONLY = "reference"      # the reference implementations: never in a student's wheel


class StudentRequirements(Distribution):
    """The student wheel's requirements replace the instructor's. pyproject.toml's [project] lists are
    static, so setuptools applies them after setup() is called: they are replaced here, just before the
    commands (metadata, wheel) read them."""

    def run_commands(self):
        if STUDENT:
            table = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["grader"]
            self.install_requires = list(table["student-wheel"]["dependencies"])
            self.extras_require = {}
            self.metadata.provides_extras = type(self.metadata.provides_extras)()
            self._finalize_requires()   # copies both onto the metadata the wheel's METADATA is written from
        super().run_commands()


class BuildWithPublicAssignments(build_py):
    def finalize_options(self):
        super().finalize_options()
        if STUDENT:
            self.packages = [p for p in self.packages or [] if p.split(".")[0] != INSTRUCTOR_ONLY]

    def run(self):
        super().run()
        if STUDENT:   # a build folder reused from an instructor's build may still hold it
            shutil.rmtree(Path(self.build_lib) / INSTRUCTOR_ONLY, ignore_errors=True)
        source = ROOT / "assignments"
        if not source.is_dir():   # e.g. the docker image installs grader/ alone
            return
        dest = Path(self.build_lib) / "grader" / "public_assignments"
        if STUDENT:
            sys.path.insert(0, str(ROOT))
            from grader.public_cases import write_student_assignments

            write_student_assignments(source, dest)
            return
        import importlib.util

        spec = importlib.util.spec_from_file_location("public_copies", ROOT / "grader" / "public_copies.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.write_public_assignments(source, dest)


setup(cmdclass={"build_py": BuildWithPublicAssignments}, distclass=StudentRequirements)
