# The two commands of the README (both set everything up on a machine that has only Python), and
# `make check`, the developer's fast loop: the linter (ruff, pyflakes rules), then the tests not marked slow
# (no kernel, container or training).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: demo test check install clean-demo student-wheel

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# the CPU build first, so that nothing later pulls a multi-GB CUDA build
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test,dask,keras]'
	rm -f $(VENV)/.installed-*
	touch $@

demo: $(STAMP)
	$(VENV)/bin/grader grade examples/demo/course.toml --out examples/demo/out

test: $(STAMP)
	bash scripts/ensure_docker.sh
	bash scripts/ensure_chromium.sh
	$(PY) -m pytest

check: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -m "not slow" -q

# the wheel students install: no reference/, public checks against outputs precomputed now (README, Students)
student-wheel: $(STAMP)
	STUDENT_WHEEL=1 $(PY) -m pip wheel -q --no-deps --no-build-isolation -w dist .

clean-demo:
	rm -rf examples/demo/out
