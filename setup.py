"""Only for one build step pyproject.toml cannot express: ship public copies of assignments/.

A wheel installed in Colab has no repository beside it, so grader.selfcheck() would know no
practical; hidden checks are redacted on the way (grader/public_specs.py).
"""
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithPublicAssignments(build_py):
    def run(self):
        super().run()
        source = Path(__file__).parent / "assignments"
        if not source.is_dir():   # e.g. the docker image installs grader/ alone
            return
        import importlib.util

        spec = importlib.util.spec_from_file_location("public_specs", Path(__file__).parent / "grader" /
                                                      "public_specs.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.write_public_assignments(source, Path(self.build_lib) / "grader" / "public_assignments")


setup(cmdclass={"build_py": BuildWithPublicAssignments})
