"""Ingest: load the source data, check it against the contract, split it into train and test."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from . import storage
from .config import Params
from .errors import UsageError
from .features import FEATURES, LABELS, TARGET
from .schema import LABELLED_SCHEMA, validate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestResult:
    raw_rows: int
    train_rows: int
    test_rows: int


SAMPLE_SOURCE = "sklearn:iris"


def sample_frame() -> object:
    """The bundled sample (iris), with the project's column names."""
    from sklearn.datasets import load_iris

    iris = load_iris(as_frame=True)
    frame = iris.frame.rename(columns=dict(zip(iris.feature_names, FEATURES, strict=True)))
    frame[TARGET] = [LABELS[int(i)] for i in frame.pop("target")]
    return frame


def load_source(source: str) -> object:
    """Return the raw table. Replace the bundled iris dataset with your own source here."""
    if source == SAMPLE_SOURCE:
        return sample_frame()
    try:
        version = storage.object_version(source)
        log.info("ingest: reading %s%s", source, f" ({version})" if version else "")
        return storage.read_csv(source)
    except FileNotFoundError as exc:
        hint = " (`make data-seed` uploads the bundled sample)" if storage.is_remote(source) else ""
        raise FileNotFoundError(f"{exc}: put the source data there{hint}, or change data.source") from exc


def upload_sample(url: str, *, overwrite: bool = False) -> int:
    """Write the bundled sample to `url` (the source in params.yaml) so the pipeline has data on day one.

    Refuses to replace an existing file unless `overwrite`: the source is the team's data.
    """
    if url == SAMPLE_SOURCE:
        raise UsageError(f"data.source is {SAMPLE_SOURCE!r}: set it to a path or URL to upload the sample to")
    if not overwrite and storage.exists(url):
        raise FileExistsError(f"{url} already exists; pass --overwrite to replace it")
    frame = validate(sample_frame(), LABELLED_SCHEMA, source=SAMPLE_SOURCE)
    storage.write_csv(frame, url)
    log.info("upload-sample: %d rows -> %s", len(frame), url)
    return len(frame)


def load_xy(url: str) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels of a labelled split (train or test), checked against the data contract."""
    frame = validate(storage.read_csv(url), LABELLED_SCHEMA, source=url)
    return frame[list(FEATURES)].to_numpy(dtype=np.float64), frame[TARGET].to_numpy(dtype=str)


def ingest(params: Params) -> IngestResult:
    """Validate everything before writing anything, so a bad source leaves earlier outputs intact."""
    from sklearn.model_selection import train_test_split

    cfg = params.data
    raw = validate(load_source(cfg.source), LABELLED_SCHEMA, source=cfg.source)
    try:
        train, test = train_test_split(
            raw, test_size=cfg.test_size, random_state=params.seed, stratify=raw[TARGET]
        )
    except ValueError as exc:  # too few rows of a label for the split data.test_size asks for
        raise UsageError(f"data.test_size {cfg.test_size} cannot split {cfg.source}: {exc}") from None
    storage.write_csv(raw, cfg.raw_path)
    storage.write_csv(train, cfg.train_path)
    storage.write_csv(test, cfg.test_path)
    log.info("ingest: %d rows -> %d train, %d test", len(raw), len(train), len(test))
    return IngestResult(raw_rows=len(raw), train_rows=len(train), test_rows=len(test))
