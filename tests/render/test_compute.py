"""Framework and compute answers, checked beyond the render matrix: the GPU training image's CUDA
version against the torch wheels uv really locks, and what each answer puts in the project."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import pytest

from tests.support.process import run
from tests.support.projects import find_python, project_env
from tests.support.snapshot import render


def _uv() -> str:
    uv = os.environ.get("UV")
    if not uv:
        pytest.skip("uv not found (scripts/test.sh sets $UV)")
    return uv


def test_gpu_training_image_matches_the_cuda_of_the_locked_torch(template_repo: Path, tmp_path: Path) -> None:
    """`uv lock` resolves the project's torch as a user's would (PyPI's Linux CUDA build); the CUDA
    base of Dockerfile.train must carry the same CUDA major version as its nvidia runtime wheel."""
    project = render(template_repo, tmp_path / "gpu", ml_framework="pytorch", compute="gpu")
    pyproject = (project / "pyproject.toml").read_text()
    assert "pytorch-cpu" not in pyproject  # a GPU project takes PyPI's CUDA build
    env = project_env(find_python("3.12"))
    locked = run([_uv(), "lock", "--quiet"], project, env, timeout=600)
    assert locked.returncode == 0, locked.stdout
    packages = {p["name"]: p["version"] for p in tomllib.loads((project / "uv.lock").read_text())["package"]}
    runtime = next(name for name in packages if name.startswith("nvidia-cuda-runtime"))
    wheel_major = packages[runtime].split(".")[0]
    base = re.search(
        r"^FROM nvidia/cuda:(\d+)\.\d+\.\d+-base-ubuntu\d+\.\d+ AS builder$",
        (project / "Dockerfile.train").read_text(),
        re.M,
    )
    assert base, "Dockerfile.train's builder is not on a pinned nvidia/cuda base"
    assert base.group(1) == wheel_major, (
        f"base image CUDA {base.group(1)}, torch wheels CUDA {wheel_major} ({runtime} {packages[runtime]})"
    )
    assert "torch" in packages and "onnxruntime" in packages


@pytest.mark.parametrize(
    ("answers", "torch_source", "ray"),
    [
        ({"ml_framework": "pytorch"}, "pytorch-cpu", False),
        ({"ml_framework": "pytorch", "compute": "distributed"}, "pytorch-cpu", True),
        ({"compute": "distributed"}, None, True),
    ],
)
def test_framework_and_compute_dependencies(
    template_repo: Path, tmp_path: Path, answers: dict[str, str], torch_source: str | None, ray: bool
) -> None:
    project = render(template_repo, tmp_path / "p", **answers)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    serving = " ".join(pyproject["project"]["dependencies"])
    groups = pyproject["dependency-groups"]
    # Serving: the exported model and onnxruntime, whatever trained it.
    assert "onnxruntime" in serving and "torch" not in serving and "scikit-learn" not in serving
    training = " ".join(groups["pipeline"] + groups.get("train", []))
    assert ("ray[" in training) is ray
    sources = pyproject["tool"]["uv"].get("sources", {})
    assert sources.get("torch", {}).get("index") == torch_source
    if torch_source:
        index = pyproject["tool"]["uv"]["index"][0]
        assert index == {
            "name": "pytorch-cpu",
            "url": "https://download.pytorch.org/whl/cpu",
            "explicit": True,
        }
        assert "train" in pyproject["tool"]["uv"]["default-groups"]
    dockerfile = project / "Dockerfile.train"
    assert dockerfile.exists() is (answers.get("compute") in {"gpu", "distributed"})
    if ray:
        assert "ln -s /app/.venv/bin/ray /usr/local/bin/ray" in dockerfile.read_text()


def test_a_mirror_replaces_the_torch_index(template_repo: Path, tmp_path: Path) -> None:
    project = render(
        template_repo,
        tmp_path / "p",
        ml_framework="pytorch",
        torch_cpu_index="https://mirror.example.com/torch-cpu",
    )
    assert 'url = "https://mirror.example.com/torch-cpu"' in (project / "pyproject.toml").read_text()


def test_gpu_without_a_gpu_framework_is_refused_with_the_reason(template_repo: Path, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="GPU training needs a framework that trains on GPUs"):
        render(template_repo, tmp_path / "p", compute="gpu")
    assert not (tmp_path / "p" / "pyproject.toml").exists()
