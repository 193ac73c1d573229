"""Cluster-mode helpers shared by the tests and benchmarks/cluster.py: a config on a
PostgreSQL catalog, and `archiver worker` processes (each with its stderr in a file)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from .helpers import ARCHIVER, FixtureSite, write_config


def cluster_config(
    directory: Path,
    site: FixtureSite,
    dsn: str,
    *,
    targets: list[str],
    every: str = "1h",
    extra: str = "",
    store: str = "store",
    tail: str = "",
) -> Path:
    """write_config's config with ``[store] catalog`` (the cluster) and a [schedule]."""
    path = write_config(directory, site, targets=targets, extra=extra, seed=False)
    text = path.read_text(encoding="utf-8").replace(
        '[store]\npath = "store"\n', f'[store]\npath = "{store}"\ncatalog = "{dsn}"\n'
    )
    text += f'\n[schedule]\nevery = "{every}"\n{tail}'
    path.write_text(text, encoding="utf-8")
    return path


def _stacks(pid: int) -> str:
    spy = shutil.which("py-spy")
    if spy is None:
        return "(py-spy is not installed: no stacks)"
    done = subprocess.run(
        [spy, "dump", "--pid", str(pid)], capture_output=True, text=True, timeout=30
    )
    return done.stdout + done.stderr


class Worker:
    """`archiver worker` as a subprocess."""

    def __init__(self, config: Path, *args: str, name: str = "worker") -> None:
        self.log_path = config.parent / f"{name}-{time.monotonic_ns()}.log"
        self.log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [ARCHIVER, "--config", str(config), "worker", "--stalled-after", "2s", *args],
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    @property
    def stderr(self) -> str:
        return self.log_path.read_text(encoding="utf-8")

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM once it has started (a signal before its command runs is Python's
        default: killed); the exit status."""
        wait_for(lambda: "worker on " in self.stderr or self.proc.poll() is not None, 60, "a start")
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            # Where it hangs: py-spy's stacks when it is installed, and the worker's log.
            stacks = _stacks(self.proc.pid)
            self.kill()
            raise AssertionError(
                f"the worker did not stop within {timeout:.0f} s of SIGTERM\n{stacks}"
                f"\n--- its log ---\n{self.stderr[-4000:]}"
            ) from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        self.kill()
        self.log.close()


def plan(config: Path) -> int:
    """Plan a tick now (archiver.crawler.cluster.plan_now); the run's id."""
    from archiver.config import load_config
    from archiver.crawler.cluster import plan_now
    from archiver.storage.store import Store

    settings = load_config(config)
    with Store.from_config(settings) as store:
        planned = plan_now(settings, store)
    assert planned is not None
    return planned.run_id


def run_done(dsn: str, run_id: int) -> bool:
    """Whether run ``run_id`` of the catalog at ``dsn`` has ended."""
    from archiver.storage.catalog import Catalog

    catalog = Catalog(dsn)
    try:
        return catalog.run(run_id).finished_at is not None
    finally:
        catalog.close()


def wait_for(check: Callable[[], bool], timeout: float, what: str, step: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)
