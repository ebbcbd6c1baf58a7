"""The model card written next to every trained model (see docs/model-card.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model_files import ModelMetadata


def _flatten(prefix: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        items: list[tuple[str, Any]] = []
        for key, inner in value.items():
            items.extend(_flatten(f"{prefix}.{key}" if prefix else str(key), inner))
        return items
    return [(prefix, value)]


def flat_params(params: dict[str, Any]) -> dict[str, Any]:
    """{"train": {"C": 1.0}} -> {"train.C": 1.0}: one row per parameter."""
    return dict(_flatten("", params))


def render_model_card(metadata: ModelMetadata) -> str:
    lines = [
        f"# Model card: {metadata.model_version}",
        "",
        "| | |",
        "|---|---|",
        f"| Model version | `{metadata.model_version}` |",
        f"| Estimator | {metadata.estimator} ({metadata.framework}, served as ONNX) |",
        f"| Trained at (UTC) | {metadata.trained_at} |",
        f"| Git commit | `{metadata.git_commit}` |",
        f"| Training data version | `{metadata.data_version}` ({metadata.train_rows} rows) |",
    ]
    if metadata.data_object_version:
        lines.append(f"| Training data object version | `{metadata.data_object_version}` |")
    if metadata.data_source:
        lines.append(f"| Data source | `{metadata.data_source}` |")
    for fact, value in metadata.training.items():
        lines.append(f"| Training {fact.replace('_', ' ')} | `{value}` |")
    if metadata.mlflow_run_id:
        lines.append(f"| MLflow run | `{metadata.mlflow_run_id}` |")
    lines += [
        "",
        "## Inputs and outputs",
        "",
        f"- Features: {', '.join(metadata.features)}",
        f"- Labels: {', '.join(metadata.labels)}",
        "",
        "## Metrics on the training split (cross-validated, or on its validation share)",
        "",
        "| metric | value |",
        "|---|---|",
        *(f"| {name} | {value:.4f} |" for name, value in metadata.cv_metrics.items()),
        "",
        "## Parameters",
        "",
        "| parameter | value |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in flat_params(metadata.params).items()),
        "",
        "Test-set metrics of this model are in `reports/metrics.json` after `make pipeline`.",
        "",
    ]
    return "\n".join(lines)
