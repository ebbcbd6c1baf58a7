"""Load the trained model and its metadata for serving."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DataValidationError
from ..features import FEATURES
from ..model_files import ModelMetadata, read_metadata, read_model
from ..onnx_model import OnnxModel


class ModelNotAvailableError(RuntimeError):
    pass


@dataclass(frozen=True)
class LoadedModel:
    model: OnnxModel
    version: str
    features: tuple[str, ...]
    metadata: ModelMetadata

    def predict(self, rows: np.ndarray) -> list[str]:
        return self.model.predict(rows)


def load_model(model_dir: str) -> LoadedModel:
    try:
        metadata = read_metadata(model_dir)
        model = read_model(model_dir, metadata)
    except FileNotFoundError as exc:
        raise ModelNotAvailableError(f"{exc}; run `make pipeline` to train a model") from exc
    except DataValidationError as exc:
        raise ModelNotAvailableError(str(exc)) from exc
    if metadata.features != FEATURES:
        raise ModelNotAvailableError(
            f"the model in {model_dir} expects features {metadata.features}, the API serves {FEATURES}"
        )
    loaded = LoadedModel(
        model=model, version=metadata.model_version, features=metadata.features, metadata=metadata
    )
    loaded.predict(np.zeros((1, len(FEATURES))))  # warm-up: first call pays for lazy initialisation
    return loaded
