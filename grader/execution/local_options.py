"""The ``[local]`` table of course.toml: the local runner's options, declared once (pydantic).

Validates and documents only: it imports neither the runner nor its fork server.
"""
from __future__ import annotations

from pydantic import Field

from grader.config_types import Boolean, Table, doc


class LocalOptions(Table):
    """All optional; a key left out takes the runner's own default."""

    warm: Boolean = Field(None, **doc("bool", "true", "fork every run from a fork server that imported the kernel's "
                                                   "modules once per batch; false starts a new interpreter and "
                                                   "kernel per notebook (slower; for comparison). A forked kernel "
                                                   "(here and in a warm container) loads no debugger (`debugpy`, "
                                                   "which only a frontend attaching to the kernel uses); a notebook "
                                                   "can still import it"))
