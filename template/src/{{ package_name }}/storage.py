"""One storage layer for every job: local paths and object-store URLs (s3://, gs://, az://).

fsspec picks the filesystem from the URL (s3fs, gcsfs or adlfs, installed for the backend chosen
when the project was generated). Credentials never live in the repository: each provider's standard
chain supplies them (environment variables, profiles, workload identity, `az login`, ...).

- Local writes go to a temporary file that is renamed into place; an object-store upload is atomic
  by itself. Either way a failed step never leaves a half-written file for the next step to read.
- Every failure is a `StorageError` (or `FileNotFoundError`) whose message names the URL, the cause
  and where the credentials come from, instead of a provider's stack trace.
- Network calls end: S3 gets a 10 s connect timeout and 3 attempts; GCS and Azure keep their SDKs' own
  bounded retry policies (about 40 s and 90 s against an endpoint that refuses connections).
"""

from __future__ import annotations

import io
import os
import posixpath
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import fsspec

from .config import AWS_REGION, AZURE_STORAGE_ACCOUNT, S3_ENDPOINT_URL
from .errors import DataValidationError, StorageError

CREDENTIALS_HINT = {
    "s3": "AWS credentials come from the standard chain (AWS_PROFILE, AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY, SSO, or a role via OIDC/instance profile); endpoint: AWS_ENDPOINT_URL",
    "gs": "GCS credentials are Application Default Credentials (`gcloud auth application-default "
    "login`, GOOGLE_APPLICATION_CREDENTIALS, or workload identity); emulator: STORAGE_EMULATOR_HOST",
    "az": "Azure credentials come from AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT_NAME "
    "with `az login`, a managed identity or workload identity",
}
_PROTOCOL_FAMILY = {"s3": "s3", "s3a": "s3", "gs": "gs", "gcs": "gs", "az": "az", "abfs": "az", "abfss": "az"}


def protocol(url: str) -> str:
    """ "s3", "gs", "az" for object-store URLs, "file" for local paths (and other fsspec protocols as is)."""
    scheme = url.split("://", 1)[0] if "://" in url else "file"
    return _PROTOCOL_FAMILY.get(scheme, scheme)


def is_remote(url: str) -> bool:
    return protocol(url) in CREDENTIALS_HINT


def storage_options(family: str) -> dict[str, Any]:
    """Options for the object store's filesystem: endpoint, region, timeouts and credentials source."""
    if family == "s3":
        options: dict[str, Any] = {
            # Bounded: 10 s to connect, 60 s per read, 3 attempts in all (botocore's "standard" mode).
            "config_kwargs": {
                "connect_timeout": 10,
                "read_timeout": 60,
                "retries": {"max_attempts": 3, "mode": "standard"},
            },
        }
        endpoint = (
            os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or S3_ENDPOINT_URL
        )
        if endpoint:
            options["endpoint_url"] = endpoint
        # botocore reads only AWS_DEFAULT_REGION; AWS_REGION (the newer SDKs' name) counts here too.
        region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or AWS_REGION
        if region:
            options["client_kwargs"] = {"region_name": region}
        return options
    if family == "gs":
        if os.environ.get("STORAGE_EMULATOR_HOST"):
            # gcsfs otherwise probes the bucket type over gRPC, which an emulator does not answer.
            os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
            if not os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
                return {"token": "anon"}
        # Application Default Credentials only: missing or broken credentials fail here, instead of
        # gcsfs silently falling back to anonymous access.
        return {"token": "google_default"}
    if family == "az":
        if os.environ.get("AZURE_STORAGE_CONNECTION_STRING"):
            return {}  # adlfs reads the connection string itself
        account = os.environ.get("AZURE_STORAGE_ACCOUNT_NAME") or AZURE_STORAGE_ACCOUNT
        # With an account name and no key, adlfs authenticates with DefaultAzureCredential.
        return {"account_name": account, "anon": False} if account else {"anon": False}
    return {}


def _fs(url: str) -> tuple[Any, str]:
    family = protocol(url)
    with _errors(url, "open"):
        fs, path = fsspec.core.url_to_fs(url, **storage_options(family))
    return fs, path


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _bucket(path: str) -> str:
    return path.split("/", 1)[0]


@contextmanager
def _errors(url: str, action: str, fs: Any = None, path: str = "") -> Iterator[None]:
    """Turn a provider's exception into one clear error naming the URL, the cause and the fix."""
    family = protocol(url)
    hint = CREDENTIALS_HINT.get(family, "")
    try:
        yield
    except StorageError:
        raise
    except FileNotFoundError as exc:
        # An upload only fails this way without its bucket; a read, also without the object.
        if family in CREDENTIALS_HINT and (
            action == "write" or (fs is not None and not _bucket_exists(fs, path))
        ):
            raise StorageError(_missing_bucket(url, action, path)) from exc
        raise FileNotFoundError(f"{url} does not exist") from exc
    except PermissionError as exc:
        also = (
            " S3 also answers this for a bucket that does not exist or that these credentials may not list."
            if family == "s3"
            else ""
        )
        raise StorageError(
            f"cannot {action} {url}: access denied ({_first_line(exc)}).{also} {hint}"
        ) from exc
    except Exception as exc:
        name = type(exc).__name__
        detail = _first_line(exc)
        if "ContainerNotFound" in str(exc) or "NoSuchBucket" in str(exc):
            raise StorageError(_missing_bucket(url, action, path)) from exc
        if "Authorization" in str(exc) or "Credentials" in name or "credentials" in detail.lower():
            raise StorageError(f"cannot {action} {url}: {detail}. {hint}") from exc
        raise StorageError(f"cannot {action} {url}: {name}: {detail}. {hint}".rstrip(". ") + ".") from exc


def _missing_bucket(url: str, action: str, path: str) -> str:
    return (
        f"cannot {action} {url}: the bucket or container '{_bucket(path)}' does not exist or these "
        "credentials cannot see it (create it, grant access, or fix the URL in params.yaml)"
    )


def _bucket_exists(fs: Any, path: str) -> bool:
    """Only refines the message of a failed read: any doubt (such as no right to list) counts as "exists".

    Lists the bucket's top level rather than asking for the bucket itself, which needs a permission
    that object-level roles often lack.
    """
    try:
        fs.invalidate_cache()
        fs.ls(_bucket(path), detail=False)
    except FileNotFoundError:
        return False
    except Exception:
        return True
    return True


def _call(url: str, action: str, operation: Callable[[Any, str], Any]) -> Any:
    fs, path = _fs(url)
    with _errors(url, action, fs, path):
        return operation(fs, path)


def exists(url: str) -> bool:
    return bool(_call(url, "check", lambda fs, path: fs.exists(path)))


def read_bytes(url: str) -> bytes:
    data: bytes = _call(url, "read", lambda fs, path: fs.cat_file(path))
    return data


def write_bytes(url: str, data: bytes) -> None:
    def write(fs: Any, path: str) -> None:
        if is_remote(url):
            fs.pipe_file(path, data)  # one upload: the object appears whole or not at all
            return
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

    _call(url, "write", write)


def object_version(url: str) -> str | None:
    """The store's own version of an object: S3 VersionId or ETag, GCS generation, Azure ETag.

    None for local files (their content hash is the version: see lineage.data_version).
    """
    if not is_remote(url):
        return None
    info: dict[str, Any] = dict(_call(url, "inspect", lambda fs, path: fs.info(path)))
    for key, label in (
        ("VersionId", "version_id"),
        ("version_id", "version_id"),
        ("generation", "generation"),
    ):
        if info.get(key):
            return f"{label}:{info[key]}"
    etag = info.get("ETag") or info.get("etag")
    return f"etag:{str(etag).strip(chr(34))}" if etag else None


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
        raise DataValidationError(f"{url} is not a readable CSV file: {exc}") from exc


def write_csv(df: Any, url: str) -> None:
    write_text(url, df.to_csv(index=False))
