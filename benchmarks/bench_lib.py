"""Helpers of benchmarks/run.py: big executed notebooks, timing, the machine's description, and the
README's `## Benchmarks` section (rewritten in place, nothing else of the README is touched)."""
from __future__ import annotations

import base64
import csv
import os
import platform
import random
import re
import statistics
import subprocess
import time
import zipfile
from datetime import date
from pathlib import Path

import nbformat

README_SECTION = "## Benchmarks"
README_PART = "### Batch grading"


def executed_notebook(size_kb: int, seed: int) -> bytes:
    """A notebook as a student hands it in: 30 numbered code cells with text outputs and a few PNG plots
    (random bytes, base64, like real images: incompressible), about ``size_kb`` KB in all."""
    rng = random.Random(seed)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    plots = 5
    image_bytes = max(1, (size_kb * 1024 * 3 // 4 - 30 * 400) // plots)
    for number in range(1, 31):
        cell = nbformat.v4.new_code_cell(f"x{number} = {number}\nprint('epoch', x{number}, 'loss', 0.{number:03d})")
        cell.execution_count = number
        text = f"epoch {number} loss 0.{number}\n" * 8
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        if number % 6 == 0:
            png = base64.b64encode(rng.randbytes(image_bytes)).decode()
            plot = {"image/png": png, "text/plain": "<Figure>"}
            cell.outputs.append(nbformat.v4.new_output("display_data", data=plot))
        nb.cells.append(cell)
    return nbformat.writes(nb).encode("utf-8")


def moodle_zip(path: Path, notebooks: dict[str, bytes]) -> Path:
    """participant -> notebook bytes, as Moodle's "download all submissions" (in folders) writes them."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for participant, data in notebooks.items():
            zf.writestr(f"Student {participant}_{participant}_assignsubmission_file_/notebook.ipynb", data)
    return path


def timed(command: list[str], **kwargs) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)
    return time.perf_counter() - started


def require_graded(out_dir: Path, count: int) -> None:
    """A timing only counts when every notebook was graded (a runner failure is fast, and wrong)."""
    with open(out_dir / "results.csv", encoding="utf-8", newline="") as fh:
        statuses = [row["status"] for row in csv.DictReader(fh)]
    if statuses.count("graded") != count:
        raise RuntimeError(f"{out_dir}: expected {count} graded notebooks, got {statuses}")


def median(values: list[float]) -> float:
    return statistics.median(values)


def peak_rss_mb(command: list[str], **kwargs) -> float:
    """Peak resident memory of ``command`` (its largest process: the grader), MB; Linux/macOS only."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak <= before:
        raise RuntimeError("an earlier child used more memory: measure memory first")
    return peak / 1024   # ru_maxrss is KB on Linux


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        memory = f", {kb / 2**20:.0f} GB RAM"
    except (OSError, AttributeError):
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", load average {:.1f} at the start".format(os.getloadavg()[0]) if hasattr(os, "getloadavg") else ""
    system = f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    return f"{cpu}, {cores} cores{memory}, {system}{load}"


def write_readme_section(readme: Path, body: str, part: str = README_PART) -> None:
    """Replace a script's part of the README (``part``, ``### Batch grading`` by default, inside ``## Benchmarks``,
    up to the next heading) or add it at the end of that section; other benchmarks' text stays as it is."""
    text = readme.read_text(encoding="utf-8")
    heading = part
    part = f"{heading}\n\n{body.strip()}\n\n"
    own = re.compile(rf"^{re.escape(heading)}\n.*?(?=^#{{2,3}} |\Z)", re.S | re.M)
    section = re.compile(rf"^{re.escape(README_SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if own.search(text):
        text = own.sub(lambda _: part, text, count=1)
    elif section.search(text):
        text = section.sub(lambda m: m.group(0).rstrip() + "\n\n" + part, text, count=1)
    else:
        text = text.rstrip() + f"\n\n{README_SECTION}\n\n" + part
    readme.write_text(text.rstrip() + "\n", encoding="utf-8")


def today() -> str:
    return date.today().isoformat()
