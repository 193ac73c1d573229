"""WARC files on S3-compatible object storage: the only module that imports boto3.

Every boto3/botocore error is translated here into :class:`ObjectStoreError`, whose
message names the endpoint, the bucket and what went wrong, and never a credential:
boto3 reads those from the environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or
AWS_PROFILE), and nothing here prints what it read. boto3 is imported when a store on
S3 is first used, so other commands never pay for it.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archiver.config import RemoteWarc
from archiver.errors import ObjectStoreError, StoreError

log = logging.getLogger(__name__)

# Codes (and bare HTTP statuses, which a HEAD request gets instead) that mean the server
# is there but refuses who we are.
_REFUSED = {
    "403",
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
    "InvalidClientTokenId",
    "AuthorizationHeaderMalformed",
}
_MISSING = {"404", "NoSuchKey", "NotFound"}


@dataclass(frozen=True)
class ObjectInfo:
    """What a HEAD request says about an uploaded WARC file."""

    size: int
    sha256: str | None  # hex; from the server's SHA-256 checksum, else our metadata


class ObjectStore:
    """One bucket and key prefix of an S3-compatible server, as the store's WARC folder."""

    def __init__(self, remote: RemoteWarc) -> None:
        self.remote = remote
        self.where = remote.uri + (f" at {remote.endpoint}" if remote.endpoint else "")
        try:
            import boto3
            from botocore.config import Config as BotoConfig
        except ImportError as exc:  # pragma: no cover - boto3 is a dependency
            raise ObjectStoreError("WARC files on S3 need boto3: pip install boto3") from exc
        # Their DEBUG lines carry signed request headers: never in our logs.
        for name in ("boto3", "botocore", "s3transfer", "urllib3"):
            logging.getLogger(name).setLevel(logging.WARNING)
        try:
            session = boto3.session.Session(region_name=remote.region)
            self._client: Any = session.client(
                "s3",
                endpoint_url=remote.endpoint,
                config=BotoConfig(
                    connect_timeout=5,
                    read_timeout=60,
                    retries={"max_attempts": 2, "mode": "standard"},
                    s3={"addressing_style": "path"},  # what S3-compatible servers expect
                ),
            )
        except Exception as exc:  # noqa: BLE001 - botocore's errors, translated
            raise self._error(exc, "connect") from exc

    def key(self, name: str) -> str:
        return self.remote.prefix + name

    def uri(self, name: str) -> str:
        return self.remote.uri + name

    def check(self) -> None:
        """Raise ObjectStoreError unless the bucket answers to these credentials."""
        try:
            self._client.head_bucket(Bucket=self.remote.bucket)
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, "open the bucket") from exc

    def put(self, path: Path, name: str, size: int, sha256: str) -> None:
        """Upload a closed spool file; the server checks its SHA-256 as it arrives."""
        checksum = base64.b64encode(bytes.fromhex(sha256)).decode("ascii")
        try:
            with open(path, "rb") as body:
                self._client.put_object(
                    Bucket=self.remote.bucket,
                    Key=self.key(name),
                    Body=body,
                    ContentLength=size,
                    ContentType="application/warc",
                    ChecksumSHA256=checksum,
                    Metadata={"sha256": sha256},
                )
        except OSError as exc:
            raise ObjectStoreError(f"cannot read spool file {path}: {exc.strerror}") from exc
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, f"upload {name}") from exc

    def head(self, name: str) -> ObjectInfo | None:
        """The object's size and SHA-256, or None when there is no such object."""
        try:
            reply = self._client.head_object(
                Bucket=self.remote.bucket, Key=self.key(name), ChecksumMode="ENABLED"
            )
        except Exception as exc:  # noqa: BLE001
            if _code(exc) in _MISSING:
                return None
            raise self._error(exc, f"look up {name}") from exc
        sha256 = (reply.get("Metadata") or {}).get("sha256")
        checksum = reply.get("ChecksumSHA256")
        if checksum and "-" not in checksum:  # a whole-object checksum (not multipart)
            sha256 = base64.b64decode(checksum).hex()
        return ObjectInfo(int(reply["ContentLength"]), sha256)

    def read(self, name: str, offset: int, length: int | None) -> bytes:
        """Bytes ``offset`` to ``offset + length`` of an object (to its end without a
        length), with one HTTP range request."""
        end = "" if length is None else str(offset + length - 1)
        try:
            reply = self._client.get_object(
                Bucket=self.remote.bucket, Key=self.key(name), Range=f"bytes={offset}-{end}"
            )
            return bytes(reply["Body"].read())
        except Exception as exc:  # noqa: BLE001
            if _code(exc) in _MISSING | {"NoSuchKey"}:  # damage to report, not bad input
                raise StoreError(f"WARC file {self.uri(name)} is missing") from exc
            raise self._error(exc, f"read {name}@{offset}") from exc

    def download(self, name: str, dest: Path, *, limit: int | None = None) -> None:
        """Write the object (its first ``limit`` bytes with a limit) to ``dest``."""
        extra = {"Range": f"bytes=0-{limit - 1}"} if limit else {}
        try:
            reply = self._client.get_object(Bucket=self.remote.bucket, Key=self.key(name), **extra)
            with open(dest, "wb") as out:
                while block := reply["Body"].read(1 << 20):
                    out.write(block)
        except OSError as exc:
            raise ObjectStoreError(f"cannot write {dest}: {exc.strerror}") from exc
        except Exception as exc:  # noqa: BLE001
            if _code(exc) in _MISSING | {"NoSuchKey"}:
                raise StoreError(f"WARC file {self.uri(name)} is missing") from exc
            raise self._error(exc, f"read {name}") from exc

    def delete(self, name: str) -> None:
        """Delete the object (``gc``); deleting one already gone is no error."""
        try:
            self._client.delete_object(Bucket=self.remote.bucket, Key=self.key(name))
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, f"delete {name}") from exc

    def _error(self, exc: BaseException, doing: str) -> ObjectStoreError:
        """One line for a boto3/botocore error: its kind and code, never its text (which
        may quote request headers)."""
        from botocore import exceptions as boto

        code = _code(exc)
        if isinstance(exc, boto.NoCredentialsError | boto.PartialCredentialsError):
            return ObjectStoreError(
                f"no S3 credentials for {self.where}: set AWS_ACCESS_KEY_ID and"
                " AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) in the environment"
            )
        if isinstance(exc, boto.ProfileNotFound):
            return ObjectStoreError(
                f"the AWS profile named in AWS_PROFILE does not exist ({doing})"
            )
        if isinstance(
            exc,
            boto.EndpointConnectionError
            | boto.ConnectTimeoutError
            | boto.ReadTimeoutError
            | boto.ConnectionClosedError
            | boto.ConnectionError,
        ):
            return ObjectStoreError(
                f"cannot reach S3 at {self.remote.endpoint or 'AWS'} to {doing}"
                f" ({type(exc).__name__})",
                unreachable=True,
            )
        if code in _REFUSED:
            return ObjectStoreError(
                f"S3 refused the credentials from the environment for {self.where}"
                f" ({code}; check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
            )
        if code in _MISSING | {"NoSuchBucket"}:
            return ObjectStoreError(f"no bucket {self.remote.bucket!r} at {self.where}")
        if code:
            return ObjectStoreError(f"S3 could not {doing} in {self.where} ({code})")
        return ObjectStoreError(f"S3 could not {doing} in {self.where} ({type(exc).__name__})")


def _code(exc: BaseException) -> str:
    """The S3 error code of a ClientError ("" for other errors)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    return str((response.get("Error") or {}).get("Code") or "")
