"""The trained model's folder: the estimator, its metadata record and its model card.

Train writes them; evaluate, the API and the tests read them. In the package, this module is the only
place that spells a file name or a metadata field, so a new field is added once, here, with its type.
The folder may be a local path or an object-store URL (MODEL_DIR=s3://bucket/models).
"""

from __future__ import annotations

import io
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from . import storage
from .errors import DataValidationError
from .model_card import render_model_card

MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"
CARD_FILE = "model_card.md"


class ModelMetadata(BaseModel):
    """What is known about one trained model: written as metadata.json beside it."""

    # Unknown fields of a newer metadata.json are ignored, so an older API can still serve it.
    model_config = ConfigDict(frozen=True, extra="ignore", protected_namespaces=())

    model_version: str
    estimator: str
    features: tuple[str, ...]
    labels: tuple[str, ...]
    trained_at: str
    git_commit: str
    data_version: str
    data_source: str
    train_rows: int
    params: dict[str, Any]
    cv_metrics: dict[str, float]
    # The store's own version of the training file (S3 version id or ETag, GCS generation, Azure
    # ETag) when it lives in object storage; None for local files.
    data_object_version: str | None = None
    # Set when the training run was logged to MLflow.
    mlflow_run_id: str | None = None
    mlflow_model_uri: str | None = None


def file_url(model_dir: str, name: str) -> str:
    """`name` inside `model_dir`, keeping URL schemes intact (s3://bucket/models/model.joblib)."""
    return f"{model_dir.rstrip('/')}/{name}"


def write_model(model_dir: str, model_bytes: bytes, metadata: ModelMetadata) -> None:
    """Write the model, then its metadata and card (each write is atomic; see storage)."""
    storage.write_bytes(file_url(model_dir, MODEL_FILE), model_bytes)
    # Fields that do not apply (no MLflow run, a local training file) are left out of the file.
    record = metadata.model_dump_json(indent=2, exclude_none=True)
    storage.write_text(file_url(model_dir, METADATA_FILE), record + "\n")
    storage.write_text(file_url(model_dir, CARD_FILE), render_model_card(metadata))


def read_metadata(model_dir: str) -> ModelMetadata:
    url = file_url(model_dir, METADATA_FILE)
    try:
        return ModelMetadata.model_validate_json(storage.read_text(url))
    except ValidationError as exc:
        raise DataValidationError(f"{url} is not a model record (train the model again):\n{exc}") from None


def read_estimator(model_dir: str) -> Any:
    """The fitted estimator. joblib unpickles: load only models this project trained."""
    import joblib

    return joblib.load(io.BytesIO(storage.read_bytes(file_url(model_dir, MODEL_FILE))))
