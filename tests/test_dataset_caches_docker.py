"""The offline dataset caches and the no-network reason under the docker runner (network `none`: only
`lo`), the same as under the local runner (tests/test_dataset_caches.py); the image comes from
tests/test_docker_runner.py's session fixture."""
from __future__ import annotations

import pytest

from grader.execution.docker import DockerRunner
from grader.i18n import render
from test_dataset_caches import (LOAD_MNIST, _request, assert_saw_the_student_data, evaluation_images,  # noqa: F401
                                 student)
from test_docker_runner import LIMITS, runtime_image  # noqa: F401  (the session fixture)

pytestmark = pytest.mark.slow
# Keras on torch needs more than the walls tests' 256 MB; the caches sit in the scratch and HOME tmpfs.
KERAS_LIMITS = {**LIMITS, "memory": "2g", "home_mb": 64}


@pytest.fixture
def runner(runtime_image) -> DockerRunner:  # noqa: F811
    return DockerRunner(image=runtime_image, **KERAS_LIMITS)


def test_keras_load_data_gets_the_student_data_in_a_container(runner, tmp_path, student, evaluation_images):  # noqa: F811
    result = runner.run(_request(tmp_path, student, LOAD_MNIST))
    assert result.status == "ok", (result.reason, result.log[-2000:])
    assert_saw_the_student_data(result.out_dir, student, evaluation_images)


@pytest.mark.parametrize("cell, target", [
    ("import os\nos.environ.setdefault('KERAS_BACKEND', 'torch')\nimport keras\nkeras.datasets.cifar10.load_data()",
     "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"),   # keras/src/datasets/cifar10.py's origin
    ("import urllib.request\nurllib.request.urlopen('http://example.invalid/x.csv')", "http://example.invalid/x.csv"),
])
def test_a_download_in_a_container_gets_the_no_network_reason(runner, tmp_path, student, cell, target):  # noqa: F811
    # the mnist caches are there: a dataset the course does not provide is still named
    result = runner.run(_request(tmp_path, student, "x = 1", cell))
    assert result.status == "error" and result.reason.code == "run_no_network", result.reason
    assert render(result.reason, "en").startswith(
        f"The grading machine has no network: the notebook tried to download {target}, and cell #2")
    assert render(result.reason, "es").startswith(
        f"La máquina de corrección no tiene red: el cuaderno intentó descargar {target} y la celda n.º 2")
