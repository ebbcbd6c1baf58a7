"""Load the trained model and its metadata for serving."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import joblib
import numpy as np

from .. import storage
from ..features import FEATURES


class ModelNotAvailableError(RuntimeError):
    pass


@dataclass(frozen=True)
class LoadedModel:
    estimator: Any
    version: str
    features: tuple[str, ...]

    def predict(self, rows: np.ndarray) -> list[str]:
        return [str(label) for label in self.estimator.predict(rows)]


def load_model(model_dir: str) -> LoadedModel:
    try:
        metadata = json.loads(storage.read_text(f"{model_dir}/metadata.json"))
        estimator = joblib.load(io.BytesIO(storage.read_bytes(f"{model_dir}/model.joblib")))
    except FileNotFoundError as exc:
        raise ModelNotAvailableError(f"{exc}; run `make pipeline` to train a model") from exc
    features = tuple(metadata["features"])
    if features != FEATURES:
        raise ModelNotAvailableError(
            f"the model in {model_dir} expects features {features}, the API serves {FEATURES}"
        )
    model = LoadedModel(estimator=estimator, version=str(metadata["model_version"]), features=features)
    model.predict(np.zeros((1, len(features))))  # warm-up: first call pays for lazy initialisation
    return model
