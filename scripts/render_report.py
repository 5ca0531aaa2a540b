#!/usr/bin/env python3
"""Render an HTML file (the grader's report.html) to a PNG with Debian's headless Chromium.

Usage: render_report.py REPORT.html OUT.png [--width 1200] [--height 1600] [--chromium /usr/bin/chromium]
Proves the report opens in a real browser; docs/report.png (the README's picture) is made with it.
Exit 0 with the PNG written, 1 with one line saying why not (chromium missing, no PNG produced).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def find_chromium(explicit: str | None = None) -> str | None:
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def render(html: Path, png: Path, *, width: int = 1200, height: int = 1600, chromium: str | None = None,
           timeout_s: float = 120.0) -> Path:
    """Screenshot ``html`` into ``png``; RuntimeError with the reason when it cannot."""
    binary = find_chromium(chromium)
    if binary is None:
        raise RuntimeError("chromium is not installed (run scripts/ensure_chromium.sh)")
    png = png.resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    png.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="grader-chromium-") as profile:
        # root needs --no-sandbox; the rest keeps a headless run from reaching the network
        command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   "--hide-scrollbars", f"--user-data-dir={profile}", f"--screenshot={png}",
                   f"--window-size={width},{height}", html.resolve().as_uri()]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, cwd=profile)
    if not png.is_file() or not png.read_bytes().startswith(PNG_MAGIC):
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"chromium exited {done.returncode} without a PNG: {last}")
    return png


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=1600)
    parser.add_argument("--chromium")
    args = parser.parse_args(argv)
    if not args.html.is_file():
        print(f"render_report: {args.html} does not exist", file=sys.stderr)
        return 1
    try:
        out = render(args.html, args.png, width=args.width, height=args.height, chromium=args.chromium)
    except (RuntimeError, subprocess.TimeoutExpired) as err:
        print(f"render_report: {err}", file=sys.stderr)
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
