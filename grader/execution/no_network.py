"""A cell that failed because it tried to download something: the grading machine has no network.

Pure functions of a failing cell's error (name, value and traceback text): they recognise the errors a
download meets without a network (urllib's URLError, socket.gaierror, ConnectionError, requests', Keras's
"URL fetch failure on <url>", torchvision's "Error downloading <file>") and name what was being
downloaded, so the student reads that instead of a traceback summary. Never consulted for a cell that did
not raise, and never a cause of lost points by itself.
"""
from __future__ import annotations

import re

from grader.i18n import msg
from grader.records import Reason

# Exception names a failed connection or name lookup raises (URLError wraps most of urllib's; requests
# and urllib3 raise their own ConnectionError / NewConnectionError / MaxRetryError).
_NAMES = frozenset({"URLError", "gaierror", "ConnectionError", "ConnectionRefusedError", "ConnectionResetError",
                    "ConnectionAbortedError", "NewConnectionError", "MaxRetryError", "NameResolutionError"})
# What the error's text says when no network or no name server can be reached (glibc, macOS, Windows).
_SIGNS = ("Temporary failure in name resolution", "Name or service not known", "No address associated with hostname",
          "nodename nor servname provided", "getaddrinfo failed", "Network is unreachable", "Failed to resolve",
          "Failed to establish a new connection")
# Keras's get_file: "URL fetch failure on {origin}: {errno} -- {reason}"; torchvision's MNIST after its mirrors:
# "Error downloading {filename}".
_KERAS = re.compile(r"URL fetch failure on (\S+?):? ")
_TORCHVISION = re.compile(r"^Error downloading (\S+)")
_URL = re.compile(r"""(?:https?|ftp)://[^\s'"<>()\\]+""")
# A dataset call in the student's own line of the traceback: keras.datasets.cifar10.load_data(),
# torchvision.datasets.CIFAR10(...), datasets.FashionMNIST(...), tfds.load("mnist").
_DATASET = re.compile(r"\b((?:keras\.)?datasets\.\w+\.load_data|(?:torchvision\.)?datasets\.[A-Z]\w*|"
                      r"tfds\.load\(\s*['\"][\w/:.-]+['\"])")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_TARGET_CAP = 200


def no_network(ename: str, evalue: str, traceback: str, number: int | str | dict) -> Reason | None:
    """The no-network reason when the error shows a failed download, else None."""
    tb = _ANSI.sub("", traceback)
    keras = _KERAS.search(evalue)
    torchvision = _TORCHVISION.search(evalue)
    if not (keras or torchvision or ename in _NAMES or any(sign in evalue for sign in _SIGNS)):
        return None
    target = (keras.group(1) if keras else torchvision.group(1) if torchvision else _first(_URL, evalue)
              or _first(_DATASET, tb) or _first(_URL, tb))
    detail = f"{ename}: {evalue}"[:_TARGET_CAP]
    if target:
        return msg("run_no_network", target=target[:_TARGET_CAP], number=number, detail=detail)
    return msg("run_no_network_unnamed", number=number, detail=detail)


def _first(pattern: re.Pattern, text: str) -> str | None:
    found = pattern.search(text)
    return found.group(1) if found and pattern.groups else found.group(0) if found else None
