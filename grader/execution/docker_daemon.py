"""Talking to the Docker daemon for the docker runner: connect, find the image, stop and remove the
grader's containers (one run's, or every one a killed batch left) with their anonymous volumes.

It only ever removes containers labelled ``grader=1`` (and the volumes made for them); a batch's
clean-up only those carrying its mark.
"""
from __future__ import annotations

import time
import uuid

from grader.errors import GraderError, RunnerError
from grader.execution.marker import MARK_VAR
from grader.i18n import msg

LABEL = "grader"                       # every container of the grader carries grader=1
BATCH_LABEL = "grader.batch"           # and the mark of the batch it belongs to (grader.execution.marker)


def connect(timeout_s: float = 120.0):
    """A Docker SDK client for the daemon of the environment; RunnerError (one line) when unreachable.

    ``timeout_s`` bounds each API call (a busy daemon can take seconds to create a container)."""
    try:
        # start-up: the docker SDK only when a container is started
        import docker
        from docker.errors import DockerException
    except ImportError as err:
        raise RunnerError("the docker runner needs the 'docker' Python package (pip install docker)",
                          code="docker_daemon_unreachable") from err
    try:
        client = docker.from_env(timeout=int(max(timeout_s, 1)))
        client.ping()
    except (DockerException, OSError) as err:
        raise RunnerError(f"docker daemon unreachable ({first_line(err)}): start dockerd or set DOCKER_HOST",
                          code="docker_daemon_unreachable",
                          reason=msg("docker_daemon_unreachable", detail=first_line(err))) from err
    return client


def remove_leftover_containers(client=None) -> int:
    """Remove every container labelled grader=1 (left by a killed grader); returns how many."""
    client = client or connect()
    removed = 0
    for container in client.containers.list(all=True, filters={"label": f"{LABEL}=1"}, ignore_removed=True):
        remove(container)
        removed += 1
    _prune_volumes(client)
    return removed


def container_labels(env: dict[str, str]) -> dict[str, str]:
    """A container's labels: the grader's, a run id, and the batch's mark (in a label, where a killed grader's
    next run finds it, not in the environment, where the notebook would read that a grader runs it)."""
    labels = {LABEL: "1", "grader.run": uuid.uuid4().hex}
    if MARK_VAR in env:
        labels[BATCH_LABEL] = str(env[MARK_VAR])
    return labels


def remove_marked_containers(mark: str) -> int:
    """Remove the grader's containers of the batch ``mark`` (a killed batch's); safe without a daemon."""
    try:
        client = connect(timeout_s=30)
    except GraderError:
        return 0   # no daemon: nothing of ours can be running there
    removed = 0
    needle = f"{MARK_VAR}={mark}"
    for container in client.containers.list(all=True, filters={"label": f"{LABEL}=1"}, ignore_removed=True):
        config = container.attrs.get("Config", {})
        if (config.get("Labels") or {}).get(BATCH_LABEL) == mark or needle in (config.get("Env") or []):
            try:
                container.remove(force=True, v=True)
                removed += 1
            except Exception:   # gone meanwhile (its own runner removed it)
                pass
    _prune_volumes(client)
    return removed


def _prune_volumes(client) -> None:
    """Remove the grader's volumes that no container uses any more (a removal the daemon left half done);
    a volume of a run still going is in use, so never taken."""
    try:
        client.volumes.prune(filters={"label": f"{LABEL}=1"})
    except Exception:   # an old daemon or a busy one: the next batch tries again
        pass


def require_image(client, image: str) -> None:
    # start-up: the docker SDK only when a container is started
    from docker.errors import ImageNotFound

    try:
        client.images.get(image)
    except ImageNotFound as err:
        raise RunnerError(f"image {image} not found: run grader image build", code="docker_image_missing",
                          reason=msg("docker_image_missing", image=image)) from err


def kill(container) -> None:
    try:
        container.kill()
    except Exception:
        pass   # it may have ended by itself meanwhile
    try:
        container.wait(timeout=10)
    except Exception:
        pass


def remove(container, tries: int = 4) -> list[str]:
    """Remove the container and the anonymous volumes it wrote to (its out and results folders); returns what is
    still there after the tries, each named ("docker container ID", "docker volume NAME"): a busy daemon refuses a
    removal now and then ("removal already in progress", a kill it did not see end), and only logs a volume it
    failed to remove."""
    # start-up: the docker SDK only when a container is started
    from docker.errors import NotFound

    volumes = [m["Name"] for m in container.attrs.get("Mounts") or []
               if m.get("Type") == "volume" and m.get("Name")]
    left = []
    for attempt in range(tries):
        try:
            container.remove(force=True, v=True)
        except NotFound:
            break
        except Exception:   # APIError, or the daemon's answer past the client's timeout (it may still be removing)
            pass
        if _container_gone(container):
            break
        if attempt == tries - 1:
            left.append(f"docker container {container.id[:12]}")
        else:
            time.sleep(0.5 * (attempt + 1))
    return left + [f"docker volume {name}" for name in volumes if not _volume_gone(container.client, name)]


def _container_gone(container) -> bool:
    # start-up: the docker SDK only when a container is started
    from docker.errors import NotFound

    try:
        container.client.containers.get(container.id)
    except NotFound:
        return True
    except Exception:   # the daemon did not answer: not known to be gone
        return False
    return False


def _volume_gone(client, name: str) -> bool:
    # start-up: the docker SDK only when a container is started
    from docker.errors import APIError, NotFound

    try:
        volume = client.volumes.get(name)
    except NotFound:
        return True
    try:
        volume.remove(force=True)
    except NotFound:
        return True
    except APIError:
        return False
    return True


def daemon_gone(err: Exception) -> bool:
    # start-up: requests (the docker SDK's transport) only when the daemon is asked
    from requests.exceptions import ConnectionError as RequestsConnectionError

    return isinstance(err, RequestsConnectionError) or "Connection aborted" in str(err)


def first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:300] if text else type(err).__name__
