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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from template_spec import TEMPLATE_ROOT
from tests.support.process import free_port, serving
from tests.support.tools import require_tool

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


@contextmanager
def moto_s3(bucket: str, prefix: str) -> Iterator[Store]:
    import boto3  # from moto[server], in the test environment

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    # The first four AWS calls skip authentication: they create the user, its policy, its key and the
    # bucket. Everything after is signed with the user's key and checked against its policy.
    with serving(
        [require_tool("moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        f"{endpoint}/moto-api/",
        env={"INITIAL_NO_AUTH_ACTION_COUNT": "4"},
        timeout=60,
        any_status=True,
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
    with serving(
        [
            require_tool("gcp-storage-emulator"),
            "start",
            "-H",
            "127.0.0.1",
            "--port",
            str(port),
            "--in-memory",
        ],
        f"{endpoint}/storage/v1/b",
        timeout=60,
        any_status=True,
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
        message = (
            "azurite-blob not found: npm install --prefix .cache/azurite azurite@3.37.0 (as .ci/run does), "
            "or set AZURITE_BLOB"
        )
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
    with serving(argv, f"{endpoint}/{AZURITE_ACCOUNT}?comp=list", timeout=90, any_status=True):
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
