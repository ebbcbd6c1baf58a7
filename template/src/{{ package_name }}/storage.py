"""One storage layer for every job: local paths and fsspec URLs (s3://, gs://, az://, ...).

Writes go to a temporary object first and are moved into place, so a failed step never leaves a
half-written file where the next step would read it.
"""

from __future__ import annotations

import io
import posixpath
import uuid
from typing import Any

import fsspec


def _fs(url: str) -> tuple[Any, str]:
    fs, path = fsspec.core.url_to_fs(url)
    return fs, path


def exists(url: str) -> bool:
    fs, path = _fs(url)
    return bool(fs.exists(path))


def read_bytes(url: str) -> bytes:
    fs, path = _fs(url)
    if not fs.exists(path):
        raise FileNotFoundError(f"{url} does not exist")
    data: bytes = fs.cat_file(path)
    return data


def write_bytes(url: str, data: bytes) -> None:
    fs, path = _fs(url)
    parent = posixpath.dirname(path)
    if parent:
        fs.makedirs(parent, exist_ok=True)
    tmp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
    fs.pipe_file(tmp, data)
    try:
        fs.mv(tmp, path)
    finally:
        if fs.exists(tmp):
            fs.rm(tmp)


def read_text(url: str) -> str:
    return read_bytes(url).decode("utf-8")


def write_text(url: str, text: str) -> None:
    write_bytes(url, text.encode("utf-8"))


def read_csv(url: str) -> Any:
    """Read a CSV into a pandas DataFrame (pandas is a pipeline-only dependency)."""
    import pandas as pd

    try:
        return pd.read_csv(io.BytesIO(read_bytes(url)))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"{url} is not a readable CSV file: {exc}") from exc


def write_csv(df: Any, url: str) -> None:
    write_text(url, df.to_csv(index=False))
