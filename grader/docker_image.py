"""The docker runner's image: a wheelhouse made on the host, the build, and a check of what an image holds.

Used by `grader image build` / `grader image check`. It stages a small build context (never the whole
checkout: no venv, no course data, no results store, no secrets) and talks to the daemon via the SDK.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from grader.errors import ConfigError, RunnerError
from grader.execution.docker import connect, gpu_device_requests
from grader.version import __version__

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TAG = "grader-runtime:latest"
# What a notebook may import besides the grader's own dependencies (read from pyproject.toml): the
# one list, also installed by the Dockerfile (pinned, under the same name) and reported by the check.
RUNTIME_REQUIREMENTS = "runtime-requirements.txt"
# Installing the grader itself needs a setuptools newer than the one a fresh venv brings.
BUILD_PACKAGES = ("setuptools>=68",)
_CONTEXT_FILES = ("Dockerfile", "pyproject.toml", "README.md")
_CONTEXT_DIRS = ("grader",)   # never reference/: notebooks must not import the reference solutions
_WHEEL_NAME = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(-\d[^-]*)?-(?P<py>[^-]+)-(?P<abi>[^-]+)-(?P<plat>[^-]+)\.whl$")

Log = Callable[[str], None]
_BUILD_TIMEOUT_S = 3 * 3600   # a silent pip step (installing torch) must not end the build


@dataclass(frozen=True)
class BaseInfo:
    """What the base image brings: its Python (major.minor) and torch, when it has one."""

    python: str
    torch: str | None


@dataclass(frozen=True)
class BuildReport:
    tag: str
    base: str | None
    seconds: float
    size_bytes: int
    cached: bool                  # the tag existed already and nothing was built
    wheels: int                   # wheels handed to the build (0: pip used its index)
    requirements: tuple[str, ...] = ()

    @property
    def size_mb(self) -> int:
        return round(self.size_bytes / 2**20)


@dataclass(frozen=True)
class ImageReport:
    tag: str
    exists: bool
    size_bytes: int = 0
    python: str | None = None
    torch: str | None = None
    cuda_available: bool | None = None
    cuda_version: str | None = None
    grader_version: str | None = None
    packages: dict[str, str] = field(default_factory=dict)
    # the deep-learning packages the image holds (torch, torchvision when present, keras, ...) and
    # the KERAS_BACKEND its kernels get by default
    deep_learning: dict[str, str] = field(default_factory=dict)
    keras_backend: str | None = None
    problem: str | None = None    # why the image is unusable, in English for the instructor

    @property
    def usable(self) -> bool:
        return self.exists and self.problem is None

    def deep_learning_line(self) -> str:
        """E.g. "torch 2.5.1, keras 3.15.1 (KERAS_BACKEND=torch)": what a notebook may build models with."""
        parts = [f"{name} {version}" + (f" (KERAS_BACKEND={self.keras_backend})" if name == "keras" else "")
                 for name, version in self.deep_learning.items()]
        return ", ".join(parts) or "no deep-learning package"


# --- requirements and wheelhouse -----------------------------------------------------------------

def runtime_packages(root: Path = REPO_ROOT) -> list[str]:
    """The distribution names of ``runtime-requirements.txt``, in its order (comments and blanks skipped)."""
    lines = (root / RUNTIME_REQUIREMENTS).read_text(encoding="utf-8").splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def runtime_requirements(*, torch_in_base: bool = False, pin: bool = True) -> list[str]:
    """The runtime image's requirement lines; pinned to this host's versions, so that a notebook sees
    in the container the same library versions the grader's checks were written and tested with."""
    names = list(dict.fromkeys([*runtime_packages(), *_pyproject_dependencies()]))
    lines = []
    for name in names:
        if torch_in_base and name == "torch":
            continue
        version = _installed_version(name) if pin else None
        lines.append(f"{name}=={version}" if version else name)
    return lines + list(BUILD_PACKAGES)


def make_wheelhouse(dest: Path, requirements: Iterable[str], *, python: str = "3.11",
                    log: Log = print) -> list[Path]:
    """`pip download` every requirement (and its dependencies) as cp3XX manylinux x86_64 wheels.

    Only wheels land there: a build without an index can install them all, and nothing for another
    Python or platform slips in (checked after the download, since pip's tags are permissive).
    """
    dest.mkdir(parents=True, exist_ok=True)
    tag = "cp" + python.replace(".", "")
    cmd = [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--dest", str(dest),
           "--python-version", python, "--implementation", "cp", "--abi", tag, "--abi", "abi3", "--abi", "none",
           *[arg for plat in ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
                              "linux_x86_64") for arg in ("--platform", plat)],
           *requirements]
    log(f"pip download into {dest} ({len(list(requirements))} requirements)")
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise ConfigError("pip download failed; the wheelhouse for the image could not be made:\n"
                          + _tail(done.stdout + done.stderr, 20))
    wheels = sorted(dest.glob("*.whl"))
    foreign = [w.name for w in wheels if not wheel_fits(w.name, python)]
    if foreign:
        raise ConfigError(f"wheelhouse {dest} holds wheels for another Python or platform: {', '.join(foreign)}")
    return wheels


def wheel_fits(filename: str, python: str = "3.11") -> bool:
    """True for a wheel that installs on CPython ``python`` on linux x86_64."""
    match = _WHEEL_NAME.match(filename)
    if not match:
        return False
    cp = "cp" + python.replace(".", "")
    pys = match["py"].split(".")
    abis = match["abi"].split(".")
    plats = match["plat"].split(".")
    py_ok = cp in pys or any(p in ("py3", "py2.py3") or p.startswith("py3") for p in pys) \
        or ("abi3" in abis and any(p.startswith("cp3") and int(p[3:] or 0) <= int(cp[3:]) for p in pys))
    abi_ok = any(a in (cp, "abi3", "none") for a in abis)
    plat_ok = any(p == "any" or (p.endswith("x86_64") and ("linux" in p)) for p in plats)
    return py_ok and abi_ok and plat_ok


# --- the build -----------------------------------------------------------------------------------

def content_tag(requirements: Iterable[str], base: str | None, repo: str = "grader-runtime",
                root: Path = REPO_ROOT) -> str:
    """A tag that changes exactly when the image would: Dockerfile, wheel list, base and grader sources."""
    digest = hashlib.sha256()
    digest.update(f"{__version__}\n{base or ''}\n".encode())
    digest.update("\n".join(sorted(requirements)).encode())
    for path in _context_files(root):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return f"{repo}:{__version__}-{digest.hexdigest()[:12]}"


def build_image(base: str | None, tag: str = DEFAULT_TAG, wheelhouse: Path | None = None, *,
                use_index: bool = False, reuse: bool = False, root: Path = REPO_ROOT,
                cache_dir: Path | None = None, log: Log = print) -> BuildReport:
    """Build the runtime image from this checkout's Dockerfile.

    ``base``: the BASE_IMAGE (None: the Dockerfile's default, a public PyTorch CUDA image).
    ``wheelhouse``: wheels to install from; None makes one on the host with `pip download` (for the
    base's Python, without torch when the base has it), unless ``use_index`` lets pip inside the build
    use its index. ``reuse``: keep an existing image of that tag and build nothing.
    """
    client = connect()
    started = time.monotonic()
    if reuse and _image_exists(client, tag):
        return BuildReport(tag, base, 0.0, _image_size(client, tag), cached=True, wheels=0)
    info = probe_base(base, client) if base else None
    requirements = runtime_requirements(torch_in_base=bool(info and info.torch), pin=not use_index)
    cache_dir = cache_dir or root / ".cache"
    if wheelhouse is None and not use_index:
        wheelhouse = cache_dir / f"wheelhouse-py{info.python if info else '3.11'}"
        make_wheelhouse(wheelhouse, requirements, python=info.python if info else "3.11", log=log)
    with tempfile.TemporaryDirectory(prefix="grader-image-", dir=_mkdir(cache_dir)) as tmp:
        context = stage_context(Path(tmp), requirements, wheelhouse, root)
        wheels = len(list((context / "wheelhouse").glob("*.whl")))
        log(f"building {tag} from {base or 'the Dockerfile default base'} ({wheels} wheels)")
        _docker_build(client, context, tag, {"BASE_IMAGE": base} if base else {}, log)
    seconds = round(time.monotonic() - started, 1)
    return BuildReport(tag, base, seconds, _image_size(client, tag), cached=False, wheels=wheels,
                       requirements=tuple(requirements))


def stage_context(dest: Path, requirements: Iterable[str], wheelhouse: Path | None,
                  root: Path = REPO_ROOT) -> Path:
    """The build context: only what the Dockerfile copies. Wheels are hard-linked when possible."""
    for path in _context_files(root):
        target = dest / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    (dest / RUNTIME_REQUIREMENTS).write_text("\n".join(requirements) + "\n", encoding="utf-8")
    wheels_dir = dest / "wheelhouse"
    wheels_dir.mkdir()
    (wheels_dir / ".keep").touch()   # COPY wheelhouse/ needs the folder even when empty
    for wheel in sorted(wheelhouse.glob("*.whl")) if wheelhouse else []:
        try:
            (wheels_dir / wheel.name).hardlink_to(wheel)
        except OSError:
            shutil.copy2(wheel, wheels_dir / wheel.name)
    return dest


def probe_base(base: str, client=None) -> BaseInfo:
    """Run the base image once (no network) to learn its Python and whether torch comes with it."""
    client = client or connect()
    if not _image_exists(client, base):
        try:
            client.images.pull(base)
        except Exception as err:
            raise RunnerError(f"base image {base} is not here and cannot be pulled ({err}); "
                              "build one offline with scripts/build_test_images.sh") from err
    script = ("import sys, json\ntry:\n import torch; t = torch.__version__\nexcept Exception:\n t = None\n"
              "print(json.dumps({'python': '%d.%d' % sys.version_info[:2], 'torch': t}))")
    out = _run_python(client, base, script, python="python3")
    data = json.loads(out.strip().splitlines()[-1])
    return BaseInfo(python=data["python"], torch=data["torch"])


# --- the check -----------------------------------------------------------------------------------

_CHECK_SCRIPT = """
import json, sys
from importlib import metadata
info = {"python": sys.version.split()[0], "packages": {}}
for name in NAMES:
    try:
        info["packages"][name] = metadata.version(name)
    except Exception:
        info["packages"][name] = None
try:
    import torch
    info["torch"] = torch.__version__
    info["cuda_available"] = bool(torch.cuda.is_available())
    info["cuda_version"] = torch.version.cuda
except Exception as err:
    info["torch"] = None
    info["problem"] = "torch cannot be imported: %s" % err
info["deep_learning"] = {}
for name in ("torch", "torchvision", "keras", "jax", "tensorflow"):
    try:
        info["deep_learning"][name] = metadata.version(name)
    except Exception:
        pass
if "keras" in info["deep_learning"]:
    import os
    info["keras_backend"] = os.environ.get("KERAS_BACKEND", "tensorflow (Keras's own default)")
try:
    import grader
    info["grader"] = grader.__version__
except Exception as err:
    info["problem"] = "the grader package is not installed in the image: %s" % err
print(json.dumps(info))
"""


def _check_script() -> str:
    """The check run inside an image; it reports the version of every runtime package but torch (apart)."""
    names = [name for name in runtime_packages() if name != "torch"]
    return f"NAMES = {names!r}\n" + _CHECK_SCRIPT


def check_image(tag: str = DEFAULT_TAG, *, gpus: object = None) -> ImageReport:
    """Whether ``tag`` exists and what it holds (python, torch, CUDA); ``gpus`` as the runner takes them."""
    client = connect()
    if not _image_exists(client, tag):
        return ImageReport(tag, exists=False, problem=f"image {tag} not found: run grader image build")
    try:
        out = _run_python(client, tag, _check_script(), device_requests=gpu_device_requests(gpus))
        data = json.loads(out.strip().splitlines()[-1])
    except (RunnerError, ValueError, IndexError) as err:
        return ImageReport(tag, exists=True, size_bytes=_image_size(client, tag), problem=str(err))
    missing = [name for name, version in data["packages"].items() if version is None]
    problem = data.get("problem") or (f"missing packages: {', '.join(missing)}" if missing else None)
    return ImageReport(tag, exists=True, size_bytes=_image_size(client, tag), python=data["python"],
                       torch=data.get("torch"), cuda_available=data.get("cuda_available"),
                       cuda_version=data.get("cuda_version"), grader_version=data.get("grader"),
                       packages=data["packages"], deep_learning=data.get("deep_learning") or {},
                       keras_backend=data.get("keras_backend"), problem=problem)


# --- helpers -------------------------------------------------------------------------------------

def _docker_build(client, context: Path, tag: str, buildargs: dict[str, str], log: Log) -> None:
    # start-up: the docker SDK only when a container is started
    from docker.errors import APIError

    tail: list[str] = []
    try:
        for chunk in client.api.build(path=str(context), tag=tag, buildargs=buildargs, rm=True, forcerm=True,
                                      pull=False, decode=True, labels={"grader.image": "runtime"},
                                      timeout=_BUILD_TIMEOUT_S):
            if "error" in chunk:
                raise RunnerError(f"docker build of {tag} failed: {chunk['error'].strip()}\n" + "\n".join(tail[-15:]))
            line = chunk.get("stream", "").rstrip()
            if line:
                tail.append(line)
                log(line)
    except APIError as err:
        raise RunnerError(f"docker build of {tag} failed: {err.explanation or err}") from err


def _run_python(client, image: str, script: str, python: str = "python", device_requests=None) -> str:
    """Output of ``python -c script`` in a throw-away container without network."""
    # start-up: the docker SDK only when a container is started
    from docker.errors import APIError, ContainerError

    try:
        out = client.containers.run(image, [python, "-c", script], network_mode="none", remove=True,
                                    labels={"grader": "1"}, device_requests=device_requests or None,
                                    stdout=True, stderr=True)
    except (ContainerError, APIError) as err:
        raise RunnerError(f"could not run python in image {image}: {err}") from err
    return out.decode("utf-8", errors="replace")


def _image_exists(client, tag: str) -> bool:
    # start-up: the docker SDK only when a container is started
    from docker.errors import ImageNotFound

    try:
        client.images.get(tag)
        return True
    except ImageNotFound:
        return False


def _image_size(client, tag: str) -> int:
    try:
        return int(client.images.get(tag).attrs.get("Size", 0))
    except Exception:
        return 0


def _context_files(root: Path) -> list[Path]:
    files = [root / name for name in _CONTEXT_FILES]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise ConfigError(f"cannot build the image: missing {', '.join(missing)}")
    for folder in _CONTEXT_DIRS:
        files += sorted(p for p in (root / folder).rglob("*")
                        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo"))
    return files


def _pyproject_dependencies(root: Path = REPO_ROOT) -> list[str]:

    try:
        deps = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    except (OSError, KeyError, ValueError):
        return []
    return [re.split(r"[<>=!~\[; ]", dep, maxsplit=1)[0] for dep in deps]


def _installed_version(name: str) -> str | None:
    try:
        version = metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
    return version.split("+", 1)[0]   # torch 2.13.0+cpu: the local tag names a build, not a release


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _tail(text: str, lines: int) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
