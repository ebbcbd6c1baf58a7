"""BentoML peer: the project's two fitted scikit-learn estimators (joblib) and, for reference, the same
two ONNX files the generated API serves, run with ONNX Runtime on one thread as the API does.

    bentoml serve bento_service:IrisService --host 127.0.0.1 --port N   (cwd: this folder)

BentoML 1.4's defaults: one worker, synchronous APIs (its thread pool), no adaptive batching. The body is
the generated API's own, {"instances": [{"sepal_length": ..., ...}]}; the answer is
{"predictions": [label, ...]}. Paths come from BENCH_SKLEARN_DIR, BENCH_ONNX_LR and BENCH_ONNX_RF.
"""
# mypy: ignore-errors
# (runs in envs/bentoml's environment: bentoml, scikit-learn and onnxruntime are not in the repository's)

from __future__ import annotations

import os
from pathlib import Path

import bentoml
import joblib
import numpy as np
import onnxruntime as ort
from pydantic import BaseModel

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")


class Instance(BaseModel):
    sepal_length: float
    sepal_width: float
    petal_length: float
    petal_width: float


def _rows(instances: list[Instance]) -> np.ndarray:
    return np.array([[getattr(i, f) for f in FEATURES] for i in instances], dtype=np.float64)


def _session(path: str) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])


@bentoml.service(workers=1)
class IrisService:
    def __init__(self) -> None:
        folder = Path(os.environ["BENCH_SKLEARN_DIR"])
        self.lr = joblib.load(folder / "lr.joblib")
        self.rf = joblib.load(folder / "rf.joblib")
        self.lr_onnx = _session(os.environ["BENCH_ONNX_LR"])
        self.rf_onnx = _session(os.environ["BENCH_ONNX_RF"])

    @staticmethod
    def _onnx(session: ort.InferenceSession, instances: list[Instance]) -> dict[str, list[str]]:
        (labels,) = session.run(["label"], {"X": _rows(instances).astype(np.float32)})
        return {"predictions": [str(label) for label in labels]}

    @bentoml.api
    def predict_lr(self, instances: list[Instance]) -> dict[str, list[str]]:
        return {"predictions": self.lr.predict(_rows(instances)).tolist()}

    @bentoml.api
    def predict_rf(self, instances: list[Instance]) -> dict[str, list[str]]:
        return {"predictions": self.rf.predict(_rows(instances)).tolist()}

    @bentoml.api
    def predict_lr_onnx(self, instances: list[Instance]) -> dict[str, list[str]]:
        return self._onnx(self.lr_onnx, instances)

    @bentoml.api
    def predict_rf_onnx(self, instances: list[Instance]) -> dict[str, list[str]]:
        return self._onnx(self.rf_onnx, instances)
