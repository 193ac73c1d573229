"""`archiver schedule`: restart-safe scheduled crawls, run as a real subprocess and signalled."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from archiver.config import load_config
from archiver.crawler.schedule import ScheduleState, build_trigger, resume
from archiver.storage.catalog import Catalog, RunRow
from archiver.storage.store import Store

from .helpers import ARCHIVER, FixtureSite, Route, cli, due_now, write_config


def make_config(
    directory: Path,
    site: FixtureSite,
    schedule: str,
    *,
    targets: tuple[str, ...] = ("/99663",),
    seed: bool = False,
) -> Path:
    path = write_config(directory, site, targets=targets, seed=seed)
    with path.open("a", encoding="utf-8") as fh:
        fh.write("\n[schedule]\n" + schedule + "\n")
    return path


def runs(config: Path) -> list[RunRow]:
    path = config.parent / "store" / "catalog.sqlite3"
    if not path.is_file():
        return []
    catalog = Catalog(path)
    try:
        return catalog.runs()
    finally:
        catalog.close()


def wait_for(condition: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


class Scheduler:
    """`archiver schedule` as a subprocess, its stderr in a file."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.log_path = config.parent / f"schedule-{time.monotonic_ns()}.log"
        self.log = self.log_path.open("w")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [ARCHIVER, "--config", str(config), "schedule"],
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )

    @property
    def stderr(self) -> str:
        return self.log_path.read_text(encoding="utf-8")

    def signal(self, sig: int) -> tuple[int, float]:
        """Send ``sig``; return (exit status, seconds until it exited)."""
        sent = time.monotonic()
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=15)
        return code, time.monotonic() - sent

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture
def scheduler() -> Iterator[Callable[[Path], Scheduler]]:
    started: list[Scheduler] = []

    def start(config: Path) -> Scheduler:
        started.append(Scheduler(config))
        return started[-1]

    yield start
    for proc in started:
        proc.close()


def verify_clean(config: Path) -> dict[str, Any]:
    result = cli(config, "verify", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["problems"] == []
    return report


def test_sigterm_mid_run_abandons_the_slow_page_flushes_and_exits_zero(
    site: FixtureSite, config_dir: Path, scheduler: Callable[[Path], Scheduler]
) -> None:
    site.routes["/99663"] = Route("slownews/99663.html", delay=4.0)
    config = make_config(config_dir, site, 'every = "1h"', targets=("/99700", "/99663"))
    due_now(config)
    proc = scheduler(config)
    wait_for(lambda: site.hits("/99663") >= 1)  # the slow page is in flight
    wait_for(
        lambda: (
            (config_dir / "store" / "warc").is_dir()
            and any((config_dir / "store" / "warc").iterdir())
        )
    )  # the fast page is written
    time.sleep(0.3)
    code, seconds = proc.signal(signal.SIGTERM)
    assert code == 0, proc.stderr
    assert seconds < 2.5  # the 4-second page was abandoned, not waited for
    [run] = runs(config)
    assert (run.trigger, run.outcome) == ("scheduled", "interrupted")
    assert run.finished_at is not None and run.fetched == 1
    assert verify_clean(config)["checked"] >= 1
    history = cli(config, "history", site.url("/99700"), "--json")
    assert [v["version"] for v in json.loads(history.output)] == [1]
    listed = json.loads(cli(config, "runs", "--json").output)
    assert listed[0]["trigger"] == "scheduled" and listed[0]["outcome"] == "interrupted"


def test_manual_crawl_is_refused_and_search_works_while_a_scheduled_run_writes(
    site: FixtureSite, config_dir: Path, scheduler: Callable[[Path], Scheduler]
) -> None:
    # The page takes 10 s, far longer than the manual crawl and search below even on a
    # loaded machine: the scheduled run holds the store throughout. The next slot is an
    # hour away, so no second scheduled fetch can start before the assertions.
    site.routes["/99663"] = Route("slownews/99663.html", delay=10.0)
    config = make_config(config_dir, site, 'every = "1h"', seed=True)
    due_now(config)
    proc = scheduler(config)
    wait_for(lambda: site.hits("/99663") >= 1)
    manual = subprocess.run(
        [ARCHIVER, "--config", str(config), "crawl"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert manual.returncode == 1
    assert manual.stderr.count("\n") == 1 and "another crawl run" in manual.stderr
    found = subprocess.run(
        [ARCHIVER, "--config", str(config), "search", "올트먼", "--json"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert found.returncode == 0, found.stderr
    assert any(hit["url"] == "seed:1" for hit in json.loads(found.stdout))
    assert site.hits("/99663") == 1  # still the one scheduled fetch: the manual crawl did none
    code, _ = proc.signal(signal.SIGINT)
    assert code == 0


def test_sigkill_mid_run_then_restart_runs_that_slot_once_at_once(
    site: FixtureSite, config_dir: Path, scheduler: Callable[[Path], Scheduler]
) -> None:
    site.routes["/99663"] = Route("slownews/99663.html", delay=0.8)
    config = make_config(config_dir, site, 'every = "1h"')
    due_now(config)
    first = scheduler(config)
    wait_for(lambda: site.hits("/99663") >= 1)
    first.proc.kill()
    first.proc.wait()
    assert [r.outcome for r in runs(config)] == [None]  # killed: no outcome recorded

    second = scheduler(config)
    wait_for(lambda: site.hits("/99663") >= 2)
    # The due slot runs at once, not at the next slot an hour later.
    assert site.times("/99663")[1] - second.started < 2.0
    wait_for(lambda: len(runs(config)) == 2 and runs(config)[1].finished_at is not None)
    code, _ = second.signal(signal.SIGTERM)
    assert code == 0
    first_run, second_run = runs(config)
    assert first_run.outcome == "abandoned"  # the killed run, closed by the restart
    assert (second_run.trigger, second_run.outcome) == ("scheduled", "ok")
    assert "killed before it ended" in second.stderr
    verify_clean(config)


RESTART_EVERY = 4


def test_restart_after_a_finished_run_does_not_repeat_it(
    site: FixtureSite, config_dir: Path, scheduler: Callable[[Path], Scheduler]
) -> None:
    # The first slot is due at once; the next one RESTART_EVERY seconds later leaves room
    # for a slow restart, and a run repeated on restart would start seconds before it.
    config = make_config(config_dir, site, f'every = "{RESTART_EVERY}s"')
    due = due_now(config)
    first = scheduler(config)
    state = ScheduleState(config_dir / "store" / "schedule.sqlite3")
    wait_for(lambda: (job := state.get()) is not None and job.last_outcome == "ok")
    first.proc.kill()  # SIGKILL while idle, after the run ended and was recorded
    first.proc.wait()

    second = scheduler(config)
    wait_for(lambda: "scheduler started" in second.stderr)
    [job] = json.loads(cli(config, "schedule", "--list", "--json").output)
    assert job["scheduler_pid"] == second.proc.pid
    assert job["last_run"]["outcome"] == "ok" and job["last_run"]["run_id"] == 1
    next_run = datetime.fromisoformat(job["next_run_time"])
    assert next_run == due + timedelta(seconds=RESTART_EVERY)  # the slot after the served one
    while datetime.now(UTC) < next_run - timedelta(seconds=0.5):  # not repeated on restart
        assert len(runs(config)) == 1 and site.hits("/99663") == 1
        time.sleep(0.1)
    wait_for(lambda: len(runs(config)) == 2 and runs(config)[1].finished_at is not None)
    assert datetime.fromisoformat(runs(config)[1].started_at) >= next_run - timedelta(seconds=1)
    code, _ = second.signal(signal.SIGTERM)
    assert code == 0
    assert [(r.trigger, r.outcome) for r in runs(config)] == [("scheduled", "ok")] * 2


def test_scheduled_run_waits_for_the_store_lock_then_skips_with_a_message(
    site: FixtureSite, config_dir: Path, scheduler: Callable[[Path], Scheduler]
) -> None:
    config = make_config(config_dir, site, 'every = "1s"\nlock_wait = "0.5s"')
    due_now(config)
    holder = Store(config_dir / "store")
    holder.lock()  # as a manual crawl (or gc) would
    try:
        proc = scheduler(config)
        wait_for(lambda: "scheduled run skipped" in proc.stderr)
        assert "waits up to 0.5s" in proc.stderr and "another crawl run" in proc.stderr
        assert runs(config) == [] and site.hits("/99663") == 0
        [job] = json.loads(cli(config, "schedule", "--list", "--json").output)
        assert job["last_run"]["outcome"] == "skipped: store locked"
    finally:
        holder.unlock()
    wait_for(lambda: runs(config) and runs(config)[0].finished_at is not None)
    assert runs(config)[0].outcome == "ok"
    code, _ = proc.signal(signal.SIGTERM)
    assert code == 0


def test_a_second_scheduler_on_the_same_store_is_refused(
    site: FixtureSite, config_dir: Path, scheduler: Callable[[Path], Scheduler]
) -> None:
    config = make_config(config_dir, site, 'every = "1h"')
    proc = scheduler(config)
    wait_for(lambda: "scheduler started" in proc.stderr)
    other = subprocess.run(
        [ARCHIVER, "--config", str(config), "schedule"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert other.returncode == 1
    assert other.stderr.strip() == (
        f"archiver: error: a scheduler (pid {proc.proc.pid}) already runs on {config_dir / 'store'}"
    )
    assert proc.signal(signal.SIGTERM)[0] == 0


def test_list_before_the_first_start(site: FixtureSite, config_dir: Path) -> None:
    config = make_config(config_dir, site, 'every = "6h"\njitter = "5m"')
    before = datetime.now(UTC)
    result = cli(config, "schedule", "--list", "--json")
    assert result.exit_code == 0, result.output
    [job] = json.loads(result.output)
    assert (job["id"], job["trigger"], job["jitter"]) == ("crawl", "every 6h", "5m")
    assert job["scheduler_pid"] is None and job["last_run"] is None
    next_run = datetime.fromisoformat(job["next_run_time"])
    assert before + timedelta(hours=6) - timedelta(seconds=2) <= next_run
    assert next_run <= before + timedelta(hours=6, minutes=5, seconds=2)
    text = cli(config, "schedule", "--list")
    assert "every 6h" in text.output and "stopped" in text.output
    assert not (config_dir / "store").exists()  # listing creates nothing


@pytest.mark.parametrize(
    ("cron", "weekday"),
    [
        ("0 6 * * 1", "Monday"),
        ("0 6 * * 0", "Sunday"),
        ("0 6 * * 7", "Sunday"),
        ("0 6 * * 5-6", "Friday"),
    ],
)
def test_cron_weekdays_count_as_crontab_does(tmp_path: Path, cron: str, weekday: str) -> None:
    path = tmp_path / "archiver.toml"
    path.write_text(f'[schedule]\ncron = "{cron}"\n', encoding="utf-8")
    trigger = build_trigger(load_config(path))
    start = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
    fires = {
        trigger.get_next_fire_time(None, start + timedelta(days=d)).strftime("%A") for d in range(8)
    }
    assert weekday in fires
    if cron.endswith(("1", "0", "7")):
        assert fires == {weekday}
    else:
        assert fires == {"Friday", "Saturday"}


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('every = "6x"', "key 'schedule.every' must be a number with an s, m, h or d suffix"),
        ('every = "1h"\ncron = "0 * * * *"', "set 'schedule.every' or 'schedule.cron', not both"),
        ('cron = "0 * * *"', "key 'schedule.cron' needs 5 fields"),
        ('cron = "0 25 * * *"', "key 'schedule.cron'"),
        ("jitter = 30", "key 'schedule.jitter' must be str"),
        ('misfire_grace_time = "0s"', "key 'schedule.misfire_grace_time' must be more than 0"),
        ('every_day = "1d"', "unknown key 'schedule.every_day'"),
    ],
)
def test_bad_schedule_config_is_a_one_line_error(
    site: FixtureSite, config_dir: Path, table: str, message: str
) -> None:
    config = make_config(config_dir, site, table)
    result = cli(config, "schedule", "--list")
    assert result.exit_code == 2
    assert message in result.output and result.output.count("\n") == 1


def test_a_run_that_ended_before_its_state_was_saved_is_not_repeated(
    site: FixtureSite, config_dir: Path
) -> None:
    config = load_config(make_config(config_dir, site, 'every = "10m"'))
    now = datetime.now(UTC).replace(microsecond=0)
    due = now - timedelta(minutes=1)
    with Store(config.store) as store:
        state = ScheduleState(config.store / "schedule.sqlite3")
        state.set_due("crawl", "every 10m", due)
        state.mark_running("crawl", (due - timedelta(seconds=1)).isoformat())
        # The run ended and was recorded; the process died before saving its state.
        run_id = store.catalog.start_run("scheduled")
        store.catalog.finish_run(
            run_id, outcome="ok", fetched=1, new_versions=1, unchanged=0, not_modified=0, errors=[]
        )
        _, next_due = resume(config, store, state, now=now)
        assert next_due == due + timedelta(minutes=10)  # the next slot, not the served one
        saved = state.get()
        assert saved is not None and saved.running_since is None

        assert saved.last_run_id == run_id and saved.last_outcome == "ok"

        # Had the next run been interrupted, its slot would still be due.
        state.mark_running("crawl", now.isoformat())
        interrupted = store.catalog.start_run("scheduled")
        store.catalog.finish_run(
            interrupted,
            outcome="interrupted",
            fetched=0,
            new_versions=0,
            unchanged=0,
            not_modified=0,
            errors=[],
        )
        _, again = resume(config, store, state, now=now + timedelta(minutes=10))
        assert again == next_due


def test_a_changed_schedule_starts_afresh(site: FixtureSite, config_dir: Path) -> None:
    config = load_config(make_config(config_dir, site, 'every = "1h"'))
    now = datetime.now(UTC)
    with Store(config.store) as store:
        state = ScheduleState(config.store / "schedule.sqlite3")
        state.set_due("crawl", "every 6h", now - timedelta(hours=2))
        _, due = resume(config, store, state, now=now)
    assert now + timedelta(minutes=59) < due <= now + timedelta(hours=1, seconds=1)


def test_runs_missed_while_down_are_coalesced_into_one(
    site: FixtureSite, config_dir: Path, scheduler: Callable[[Path], Scheduler]
) -> None:
    config = make_config(config_dir, site, 'every = "1h"')
    due = datetime.now(UTC) - timedelta(hours=2, minutes=30)  # down for three due times
    ScheduleState(config_dir / "store" / "schedule.sqlite3").set_due("crawl", "every 1h", due)
    proc = scheduler(config)
    wait_for(lambda: runs(config) and runs(config)[0].finished_at is not None)
    time.sleep(0.5)
    assert len(runs(config)) == 1 and site.hits("/99663") == 1
    [job] = json.loads(cli(config, "schedule", "--list", "--json").output)
    assert datetime.fromisoformat(job["next_run_time"]) == due + timedelta(hours=3)
    assert proc.signal(signal.SIGTERM)[0] == 0


def test_a_run_missed_by_more_than_the_grace_time_is_skipped(
    site: FixtureSite, config_dir: Path, scheduler: Callable[[Path], Scheduler]
) -> None:
    config = make_config(config_dir, site, 'every = "1h"\nmisfire_grace_time = "1m"')
    due = datetime.now(UTC) - timedelta(minutes=30)
    ScheduleState(config_dir / "store" / "schedule.sqlite3").set_due("crawl", "every 1h", due)
    proc = scheduler(config)
    wait_for(lambda: "missed by more than schedule.misfire_grace_time" in proc.stderr)
    [job] = json.loads(cli(config, "schedule", "--list", "--json").output)
    assert job["last_run"]["outcome"] == "missed"
    assert datetime.fromisoformat(job["next_run_time"]) == due + timedelta(hours=1)
    assert runs(config) == [] and site.hits("/99663") == 0
    assert proc.signal(signal.SIGTERM)[0] == 0
