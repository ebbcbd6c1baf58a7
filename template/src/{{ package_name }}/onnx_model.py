"""The exported model, run with ONNX Runtime: what the API serves and what `evaluate` scores.

Training exports whatever it fitted (a scikit-learn estimator, a PyTorch network) to one ONNX file, so
the serving environment needs only onnxruntime and NumPy: no training framework, no SciPy, no CUDA.
The graph takes a float32 matrix (one row per instance, the columns of features.FEATURES) and returns
either string labels (an output named `label`, as scikit-learn exports write) or one probability per
label (the first output, as PyTorch exports write), whose columns follow the metadata's labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

LABEL_OUTPUT = "label"


def inference_session(model_bytes: bytes) -> Any:
    """An ONNX Runtime session on one thread: the API scales with processes and micro-batches, and a
    thread pool per call costs more than it saves on small batches."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: no optimizer chatter on every start
    return ort.InferenceSession(model_bytes, sess_options=options, providers=["CPUExecutionProvider"])


@dataclass(frozen=True)
class OnnxModel:
    session: Any
    labels: tuple[str, ...]
    # Looked up once: the graph's input, and the output each method reads.
    input_name: str
    label_output: str | None
    scores_output: str

    @classmethod
    def from_bytes(cls, model_bytes: bytes, labels: tuple[str, ...]) -> OnnxModel:
        session = inference_session(model_bytes)
        outputs = [str(output.name) for output in session.get_outputs()]
        return cls(
            session=session,
            labels=labels,
            input_name=str(session.get_inputs()[0].name),
            label_output=LABEL_OUTPUT if LABEL_OUTPUT in outputs else None,
            scores_output=next((o for o in outputs if o != LABEL_OUTPUT), outputs[0]),
        )

    def predict(self, rows: np.ndarray) -> list[str]:
        """One label per row of `rows` (n x features)."""
        feed = {self.input_name: np.ascontiguousarray(rows, dtype=np.float32)}
        if self.label_output is not None:
            (labels,) = self.session.run([self.label_output], feed)
            return [str(label) for label in labels]
        (scores,) = self.session.run([self.scores_output], feed)
        return [self.labels[int(i)] for i in np.argmax(scores, axis=1)]

    def predict_proba(self, rows: np.ndarray) -> np.ndarray:
        """Probabilities (n x labels), columns in the order of `labels`."""
        feed = {self.input_name: np.ascontiguousarray(rows, dtype=np.float32)}
        (scores,) = self.session.run([self.scores_output], feed)
        return np.asarray(scores, dtype=np.float64)
