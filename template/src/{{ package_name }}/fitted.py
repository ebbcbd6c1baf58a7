"""What a framework's training hands back to `train`: the fitted model and its ONNX export."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Fitted:
    model: Any
    """The framework's own model (a scikit-learn estimator, a PyTorch module), for MLflow."""
    onnx_bytes: bytes
    """The model exported to ONNX: the file the API serves and `evaluate` scores."""
    metrics: dict[str, float]
    """Scores on the training split (cross-validated, or on its validation share)."""
    artifacts: dict[str, str] = field(default_factory=dict)
    """Local files worth keeping with the MLflow run (a checkpoint), by the folder they go in."""
    tags: dict[str, str] = field(default_factory=dict)
    """Facts about the run (the device, the Ray workers) for MLflow and the log."""
