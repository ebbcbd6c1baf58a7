"""Local stand-ins for the object stores, started by the tests on 127.0.0.1 and stopped by PID.

- S3: moto's server, with IAM authentication enforced after the first three calls (which create a user,
  its policy and its access key), so wrong credentials are really refused.
- GCS: gcp-storage-emulator, in memory (it checks no credentials).
- Azure: Azurite's blob service (npm), which checks the shared-key signature of every request.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.projects import free_port, stop
from tests.helpers import TEMPLATE_ROOT

AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's documented development key (public, the same on every machine): not a secret.
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass
class Store:
    """A running stand-in: what a project needs in its environment to reach it."""

    backend: str  # the data_storage answer: s3, gcs, azure
    endpoint: str
    env: dict[str, str]
    bad_credentials_env: dict[str, str]
    """Environment that reaches the store with credentials that are refused."""
    bad_credentials_error: str
    """What the project's error message says for them."""
    missing_bucket_error: str = "'no-such-bucket' does not exist"
    """What the project's error message says when reading from a bucket named no-such-bucket."""
    buckets: set[str] = field(default_factory=set)
    """Buckets the store already has (the project's identity may lack the right to create them)."""

    def unreachable_env(self) -> dict[str, str]:
        """Environment that points every client at a port nothing listens on."""
        dead = f"http://127.0.0.1:{free_port()}"
        if self.backend == "s3":
            return {"AWS_ENDPOINT_URL": dead}
        if self.backend == "gcs":
            return {"STORAGE_EMULATOR_HOST": dead}
        return {"AZURE_STORAGE_CONNECTION_STRING": azurite_connection_string(dead)}


def azurite_connection_string(endpoint: str, key: str = AZURITE_KEY) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={key};"
        f"BlobEndpoint={endpoint}/{AZURITE_ACCOUNT};"
    )


def _tool(name: str) -> str:
    """A console script of the test environment (moto_server, gcp-storage-emulator)."""
    found = Path(sys.executable).parent / name
    if found.exists():
        return str(found)
    on_path = shutil.which(name)
    if on_path is None:
        raise LookupError(f"{name} not found: run `uv sync` (dependency group 'stores')")
    return on_path


def find_azurite() -> str | None:
    """azurite-blob: $AZURITE_BLOB, the copy .ci/run installs into .cache/azurite, or PATH."""
    for candidate in (
        os.environ.get("AZURITE_BLOB", ""),
        str(TEMPLATE_ROOT / ".cache" / "azurite" / "node_modules" / ".bin" / "azurite-blob"),
        shutil.which("azurite-blob") or "",
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _answers(url: str, timeout: float = 2) -> bool:
    """Whether an HTTP server answers at `url` (any status counts)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@contextmanager
def _serve(
    argv: list[str], probe: str, env: Mapping[str, str] | None = None, timeout: float = 60
) -> Iterator[None]:
    """Start a server in its own process group; wait (bounded) until it answers; kill it by PID after."""
    log = Path(tempfile.mkstemp(prefix="store-", suffix=".log")[1])
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        while not _answers(probe):
            if process.poll() is not None:
                raise AssertionError(f"{argv[0]} exited {process.returncode}:\n{log.read_text()[-4000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{argv[0]} not answering after {timeout}s:\n{log.read_text()[-4000:]}")
            time.sleep(0.25)
        yield
    finally:
        stop(process)
        log.unlink(missing_ok=True)


@contextmanager
def moto_s3(bucket: str, prefix: str) -> Iterator[Store]:
    import boto3  # from moto[server], in the test environment

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    # The first four AWS calls skip authentication: they create the user, its policy, its key and the
    # bucket. Everything after is signed with the user's key and checked against its policy.
    with _serve(
        [_tool("moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        f"{endpoint}/moto-api/",
        env={"INITIAL_NO_AUTH_ACTION_COUNT": "4"},
    ):
        iam = boto3.client(
            "iam",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="bootstrap",
            aws_secret_access_key="bootstrap",
        )
        iam.create_user(UserName="pipeline")
        # The least privilege docs/storage.md asks for: list the bucket, read/write/delete under the prefix.
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"},
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                    "Resource": f"arn:aws:s3:::{bucket}/{prefix}/*",
                },
            ],
        }
        iam.put_user_policy(UserName="pipeline", PolicyName="data", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName="pipeline")["AccessKey"]
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="bootstrap",
            aws_secret_access_key="bootstrap",
        ).create_bucket(Bucket=bucket)
        env = {
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        yield Store(
            backend="s3",
            endpoint=endpoint,
            env=env,
            bad_credentials_env={"AWS_SECRET_ACCESS_KEY": "not-the-secret"},
            bad_credentials_error="access denied",
            # S3 answers 403, not 404, for a bucket outside the identity's policy (existing or not).
            missing_bucket_error="S3 also answers this for a bucket",
            buckets={bucket},
        )


@contextmanager
def gcs_emulator(workdir: Path) -> Iterator[Store]:
    broken_key = workdir / "broken-key.json"
    broken_key.write_text('{"type": "service_account", "project_id": "p"}')
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with _serve(
        [_tool("gcp-storage-emulator"), "start", "-H", "127.0.0.1", "--port", str(port), "--in-memory"],
        f"{endpoint}/storage/v1/b",
    ):
        yield Store(
            backend="gcs",
            endpoint=endpoint,
            # DVC's gcsfs needs the probe off too (the project's own storage layer sets it itself).
            env={"STORAGE_EMULATOR_HOST": endpoint, "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false"},
            # The emulator checks no credentials; a malformed key file is what the client refuses.
            bad_credentials_env={"GOOGLE_APPLICATION_CREDENTIALS": str(broken_key)},
            bad_credentials_error="Failed to load service account credentials",
        )


@contextmanager
def azurite_blob(workdir: Path) -> Iterator[Store]:
    azurite = find_azurite()
    if azurite is None:
        message = "azurite-blob not found (.ci/run installs it: npm install --prefix .cache/azurite azurite)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    location = workdir / "azurite"
    location.mkdir(parents=True, exist_ok=True)
    argv = [
        azurite,
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(port),
        "--location",
        str(location),
        "--silent",
        # Recent azure-storage-blob releases send an API version Azurite would refuse.
        "--skipApiVersionCheck",
    ]
    with _serve(argv, f"{endpoint}/{AZURITE_ACCOUNT}?comp=list", timeout=90):
        wrong_key = base64.b64encode(b"not the account key".ljust(64, b"!")).decode()
        yield Store(
            backend="azure",
            endpoint=endpoint,
            env={"AZURE_STORAGE_CONNECTION_STRING": azurite_connection_string(endpoint)},
            bad_credentials_env={
                "AZURE_STORAGE_CONNECTION_STRING": azurite_connection_string(endpoint, wrong_key)
            },
            bad_credentials_error="Server failed to authenticate",
        )
