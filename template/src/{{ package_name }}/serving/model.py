"""Load the trained model and its metadata for serving."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import DataValidationError
from ..features import FEATURES
from ..model_files import ModelMetadata, read_estimator, read_metadata


class ModelNotAvailableError(RuntimeError):
    pass


@dataclass(frozen=True)
class LoadedModel:
    estimator: Any
    version: str
    features: tuple[str, ...]
    metadata: ModelMetadata

    def predict(self, rows: np.ndarray) -> list[str]:
        return [str(label) for label in self.estimator.predict(rows)]


def load_model(model_dir: str) -> LoadedModel:
    try:
        metadata = read_metadata(model_dir)
        estimator = read_estimator(model_dir)
    except FileNotFoundError as exc:
        raise ModelNotAvailableError(f"{exc}; run `make pipeline` to train a model") from exc
    except DataValidationError as exc:
        raise ModelNotAvailableError(str(exc)) from exc
    if metadata.features != FEATURES:
        raise ModelNotAvailableError(
            f"the model in {model_dir} expects features {metadata.features}, the API serves {FEATURES}"
        )
    model = LoadedModel(
        estimator=estimator, version=metadata.model_version, features=metadata.features, metadata=metadata
    )
    model.predict(np.zeros((1, len(FEATURES))))  # warm-up: first call pays for lazy initialisation
    return model
