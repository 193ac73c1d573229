"""A scheduled run, manual crawls and four concurrent searches at once: nobody sees
"database is locked", nobody sees a traceback, and nothing is lost.

Five seconds of it in CI, a minute in the slow job (`pytest -m slow`).
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from .helpers import ARCHIVER, FixtureSite, cli, cli_json, due_now, write_config


def run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ARCHIVER, "--config", str(config), *args], capture_output=True, text=True, timeout=120
    )


def hammer(config: Path, site: FixtureSite, seconds: float) -> None:
    # Before and after the concurrent part, the CLI runs in-process (no process start).
    assert cli(config, "crawl").exit_code == 0  # the archive the searches read exists
    for path in ("/99663", "/99700", "/99710", "/euckr"):
        site.routes[path].delay = 0.3  # runs last long enough to overlap
    config_text = config.read_text().replace("[crawl]", '[schedule]\nevery = "2s"\n\n[crawl]')
    config.write_text(config_text)
    due_now(config)  # the first scheduled run starts with the others, not 2 s later
    scheduler = subprocess.Popen(
        [ARCHIVER, "--config", str(config), "schedule"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    outputs: list[str] = []
    manual_codes: list[int] = []
    search_codes: list[int] = []
    stop = time.monotonic() + seconds
    version_2_served = threading.Event()

    def searcher() -> None:
        while time.monotonic() < stop:
            result = run(config, "search", "올트먼", "--json")
            search_codes.append(result.returncode)
            outputs.append(result.stderr)

    def crawler() -> None:
        while time.monotonic() < stop:
            result = run(config, "crawl", "--json")
            manual_codes.append(result.returncode)
            outputs.append(result.stderr)
            if not version_2_served.is_set() and time.monotonic() > stop - seconds / 2:
                site.serve("/99663", "slownews/99663.v2.html")  # a change half-way
                version_2_served.set()
            time.sleep(0.2)

    threads = [threading.Thread(target=searcher) for _ in range(4)]
    threads.append(threading.Thread(target=crawler))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    scheduler.send_signal(signal.SIGTERM)
    out, err = scheduler.communicate(timeout=30)
    outputs.append(err)
    assert scheduler.returncode == 0, err

    everything = "\n".join(outputs)
    assert "database is locked" not in everything
    assert "Traceback" not in everything
    # A manual crawl either ran or said, in one line, that another run holds the store.
    assert set(manual_codes) <= {0, 1}
    for text in outputs:
        for line in text.splitlines():
            if line.startswith("archiver: error:"):
                assert "another crawl run" in line or "is writing" in line, line
    assert search_codes and set(search_codes) == {0}
    assert manual_codes  # manual crawls did run (or were refused) during the window

    for path in ("/99663", "/99700", "/99710", "/euckr"):
        site.routes[path].delay = 0  # nothing overlaps any more
    final = cli(config, "crawl")  # settle: the change made half-way is recorded
    assert final.exit_code == 0, final.output
    assert cli_json(config, "verify")["problems"] == []
    versions = cli_json(config, "history", site.url("/99663"))
    assert [v["version"] for v in versions] == [1, 2]
    runs = cli_json(config, "runs")
    assert {r["trigger"] for r in runs} >= {"manual", "scheduled"}


@pytest.mark.parametrize(
    "seconds", [5, pytest.param(60, marks=pytest.mark.slow, id="a-minute")], ids=str
)
def test_concurrent_runs_and_searches(config_dir: Path, site: FixtureSite, seconds: int) -> None:
    config = write_config(config_dir, site, targets=["/99700", "/99710", "/euckr"])
    hammer(config, site, seconds=seconds)
