"""The scheduler: decides *when* a crawl run happens (APScheduler 3); the run itself is
:func:`archiver.crawler.pipeline.crawl`, the same code path as ``archiver crawl``.

Restart safety comes from one small SQLite table in ``<store>/schedule.sqlite3`` rather
than APScheduler's SQLAlchemyJobStore: that store moves a job's next run time forward
when the run is *submitted*, so a run killed half-way would be lost, and re-adding the
job at start-up overwrites the stored time. Here ``next_due`` is the first due time not
yet served, and it moves forward only when a run for it has ended (or was skipped or
missed on purpose). At start-up the job is added with ``next_run_time = next_due``, so
APScheduler's own coalescing and misfire grace time decide what a restart catches up.

- SIGKILL during a run: ``next_due`` still names that slot, so the restart runs it once
  (the killed run is marked ``abandoned``). SIGKILL after a run ended but before its
  state was saved: the catalog shows the finished run (``running_since`` says since
  when to look), so it is not repeated.
- SIGTERM/SIGINT: ``should_stop`` makes the crawl abandon fetches in flight and record
  the run as ``interrupted``; that slot stays due and runs again after a restart.
- A scheduled run that finds the store locked (a manual crawl, ``gc``) waits up to
  ``schedule.lock_wait`` for it, then skips the slot with a warning: a short holder
  (``gc``) is waited for, while a long manual crawl has just refreshed the same targets
  and crawling again right after it would only double the load on the sites.
"""

from __future__ import annotations

import logging
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from archiver.config import Config, ScheduleConfig, parse_duration
from archiver.errors import ConfigError, StoreError, StoreLockedError
from archiver.storage.catalog import RunRow
from archiver.storage.store import PidLock, Store
from archiver.text.dates import now_iso

from . import pipeline

log = logging.getLogger(__name__)

JOB_ID = "crawl"
STATE_FILE = "schedule.sqlite3"
LOCK_FILE = "schedule.lock"

_STATE_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, trigger TEXT NOT NULL, next_due TEXT, running_since TEXT,
    last_run_id INTEGER, last_outcome TEXT, last_finished_at TEXT
);
"""

# Outcomes that do not serve a due slot: it stays due and runs again.
UNSERVED = ("interrupted", "abandoned", None)
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


@dataclass(frozen=True)
class JobState:
    id: str
    trigger: str
    next_due: str | None
    running_since: str | None
    last_run_id: int | None
    last_outcome: str | None
    last_finished_at: str | None


class ScheduleState:
    """The persisted state of the scheduler's jobs (a connection per call: thread-safe)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as db:
                db.row_factory = sqlite3.Row
                db.executescript(_STATE_SCHEMA)
                return db.execute(sql, params).fetchall()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{self.path}: schedule state: {exc}") from exc

    def get(self, job_id: str = JOB_ID) -> JobState | None:
        if not self.path.is_file():
            return None
        rows = self._execute("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return JobState(**dict(rows[0])) if rows else None

    def set_due(self, job_id: str, trigger: str, next_due: datetime) -> None:
        """Start (or restart) a job's schedule at ``next_due``; keeps its last-run fields."""
        self._execute(
            "INSERT INTO jobs(id, trigger, next_due) VALUES (?, ?, ?) ON CONFLICT(id) DO"
            " UPDATE SET trigger = excluded.trigger, next_due = excluded.next_due,"
            " running_since = NULL",
            (job_id, trigger, _iso(next_due)),
        )

    def mark_running(self, job_id: str, since: str) -> None:
        self._execute("UPDATE jobs SET running_since = ? WHERE id = ?", (since, job_id))

    def ended(
        self,
        job_id: str,
        *,
        next_due: datetime | None,
        run_id: int | None,
        outcome: str,
        finished_at: str | None = None,
    ) -> None:
        """Record a run's end; ``next_due`` None keeps the slot due (run not served)."""
        self._execute(
            "UPDATE jobs SET next_due = COALESCE(?, next_due), running_since = NULL,"
            " last_run_id = COALESCE(?, last_run_id), last_outcome = ?,"
            " last_finished_at = ? WHERE id = ?",
            (
                _iso(next_due) if next_due else None,
                run_id,
                outcome,
                finished_at or now_iso(),
                job_id,
            ),
        )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


def describe(schedule: ScheduleConfig) -> str:
    """The trigger as persisted: a changed schedule restarts the job's due times."""
    return f"cron {schedule.cron}" if schedule.cron is not None else f"every {schedule.every}"


def _crontab_weekdays(field: str, where: str) -> str:
    """Crontab weekdays (0 or 7 = Sunday) as names: APScheduler 3 counts 0 as Monday."""
    names: list[str] = []
    for part in field.split(","):
        span, _, step_text = part.partition("/")
        if not any(c.isdigit() for c in span) and not (span == "*" and step_text):
            names.append(part)  # "*", "mon-fri": same meaning in both
            continue
        try:
            step = int(step_text) if step_text else 1
            first, _, last = ("0-6" if span == "*" else span).partition("-")
            low, high = int(first), int(last or first)
        except ValueError:
            raise ConfigError(f"{where}: key 'schedule.cron': bad weekday {part!r}") from None
        if not (0 <= low <= high <= 7) or step < 1:
            raise ConfigError(f"{where}: key 'schedule.cron': bad weekday {part!r}")
        names += [_WEEKDAYS[day % 7] for day in range(low, high + 1, step)]
    return ",".join(dict.fromkeys(names))


def build_trigger(config: Config, *, anchor: datetime | None = None) -> BaseTrigger:
    """The APScheduler trigger of ``[schedule]``; interval slots are counted from ``anchor``."""
    schedule, where = config.schedule, str(config.path or "<config>")
    jitter = int(parse_duration(schedule.jitter, key="schedule.jitter", where=where)) or None
    if schedule.cron is not None:
        fields = schedule.cron.split()
        if len(fields) != 5:
            raise ConfigError(
                f"{where}: key 'schedule.cron' needs 5 fields (minute hour day"
                f" month weekday), got {schedule.cron!r}"
            )
        try:
            return CronTrigger(
                minute=fields[0],
                hour=fields[1],
                day=fields[2],
                month=fields[3],
                jitter=jitter,
                day_of_week=_crontab_weekdays(fields[4], where),
            )
        except ValueError as exc:
            raise ConfigError(f"{where}: key 'schedule.cron' {schedule.cron!r}: {exc}") from exc
    seconds = parse_duration(schedule.every or "", key="schedule.every", where=where)
    return IntervalTrigger(seconds=seconds, start_date=anchor, jitter=jitter)


def _served_since(store: Store, since: str, after_run: int | None) -> RunRow | None:
    """The scheduled run started at or after ``since`` (and after run ``after_run``, as
    times have whole seconds) that ended serving its slot."""
    if not store.exists():
        return None
    for run in reversed(store.catalog.runs()):
        if (
            run.trigger == "scheduled"
            and run.id > (after_run or 0)
            and run.started_at >= since
            and run.finished_at
            and run.outcome not in UNSERVED
        ):
            return run
    return None


def resume(
    config: Config, store: Store, state: ScheduleState, now: datetime | None = None
) -> tuple[BaseTrigger, datetime]:
    """Decide the trigger and the first due time after a (re)start, and persist them."""
    now = now or datetime.now(UTC)
    saved = state.get()
    label = describe(config.schedule)
    if saved is None or saved.trigger != label or saved.next_due is None:
        trigger = build_trigger(config)
        due = trigger.get_next_fire_time(None, now)
        log.debug("schedule %s: first run at %s", label, _iso(due))
    else:
        due = _parse(saved.next_due)
        trigger = build_trigger(config, anchor=due)
        served = (
            _served_since(store, saved.running_since, saved.last_run_id)
            if saved.running_since
            else None
        )
        if served is not None:
            # The run ended but the scheduler died before saving that: do not repeat it.
            assert served.finished_at is not None and served.outcome is not None
            due = trigger.get_next_fire_time(due, _parse(served.finished_at))
            state.ended(
                JOB_ID,
                next_due=due,
                run_id=served.id,
                outcome=served.outcome,
                finished_at=served.finished_at,
            )
            log.info(
                "run %d served the slot of %s; next run at %s", served.id, saved.next_due, _iso(due)
            )
        elif due <= now:
            log.warning(
                "a run due at %s has not been served; it runs now unless it is later"
                " than schedule.misfire_grace_time",
                _iso(due),
            )
    state.set_due(JOB_ID, label, due)
    return trigger, due


def _scheduler_lock(root: Path) -> PidLock:
    """One scheduler per store: an flock on ``<store>/schedule.lock`` holding its pid."""
    return PidLock(root / LOCK_FILE, busy="a scheduler (pid {pid}) already runs on {where}")


class Scheduler:
    """The crawl job on a BackgroundScheduler, stopped by :meth:`stop` (signal-safe)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.state = ScheduleState(config.store / STATE_FILE)
        self.stopping = threading.Event()
        self._busy = threading.Lock()  # held while a job runs
        self._lock = _scheduler_lock(config.store)
        self._scheduler: BackgroundScheduler | None = None
        self._trigger: BaseTrigger | None = None
        where, schedule = str(config.path or "<config>"), config.schedule
        self.grace = parse_duration(
            schedule.misfire_grace_time, key="schedule.misfire_grace_time", where=where
        )
        self.lock_wait = parse_duration(schedule.lock_wait, key="schedule.lock_wait", where=where)

    def stop(self, *_: object) -> None:
        self.stopping.set()

    def run(self, *, started: Callable[[datetime], None] | None = None) -> None:
        """Run until :meth:`stop` (or SIGTERM/SIGINT, installed by :func:`run_scheduler`)."""
        self._lock.acquire()
        try:
            with Store.from_config(self.config) as store:
                _abandon_killed_runs(store)
                self._trigger, due = resume(self.config, store, self.state)
            scheduler = BackgroundScheduler(executors={"default": ThreadPoolExecutor(1)})
            scheduler.add_job(
                self._run_slot,
                self._trigger,
                id=JOB_ID,
                name="crawl",
                next_run_time=due,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=max(1, int(self.grace)),
            )
            scheduler.add_listener(self._missed, EVENT_JOB_MISSED)
            self._scheduler = scheduler
            scheduler.start()
            if started:
                started(due)
            while not self.stopping.wait(0.2):
                pass
            log.info("stopping the scheduler")
            with self._busy:  # the run in flight sees should_stop and ends
                scheduler.shutdown(wait=True)
        finally:
            self._lock.release()

    def _next_due(self) -> datetime | None:
        assert self._scheduler is not None
        job = self._scheduler.get_job(JOB_ID)  # waits until APScheduler moved it forward
        return job.next_run_time if job else None

    def _missed(self, event: JobExecutionEvent) -> None:
        # Computed, not asked of APScheduler: this runs in the executor thread, which
        # shutdown() may be waiting for while it holds the job store lock.
        assert self._trigger is not None
        due = self._trigger.get_next_fire_time(event.scheduled_run_time, datetime.now(UTC))
        self.state.ended(JOB_ID, next_due=due, run_id=None, outcome="missed")
        # Logged once recorded: whoever reads the line finds the miss in `schedule --list`.
        log.warning(
            "the run due at %s was missed by more than schedule.misfire_grace_time; next run at %s",
            _iso(event.scheduled_run_time),
            _iso(due) if due else "never",
        )

    def _run_slot(self) -> None:
        # Never block on _busy: at shutdown the main thread holds it while it waits
        # for this executor thread.
        if self.stopping.is_set() or not self._busy.acquire(blocking=False):
            return
        try:
            if self.stopping.is_set():
                return
            self.state.mark_running(JOB_ID, now_iso())
            failure = None
            try:
                run_id, outcome, note = self._crawl_when_unlocked()
            except Exception as exc:  # noqa: BLE001 - one failed run must not end the scheduler
                log.debug("scheduled run failure", exc_info=True)
                run_id, outcome, note = None, f"error: {exc}", None
                failure = f"scheduled run failed: {exc}"
            due = self._next_due() if outcome not in UNSERVED else None
            self.state.ended(JOB_ID, next_due=due, run_id=run_id, outcome=outcome or "stopped")
            # Logged once recorded: whoever reads a line finds its run in `schedule --list`.
            if failure:
                log.error("%s", failure)
            if note:
                log.warning("%s", note)
            log.info(
                "scheduled run %s: %s; next run at %s",
                run_id or "-",
                outcome,
                _iso(due) if due else "(after a restart)",
            )
        finally:
            self._busy.release()

    def _crawl_when_unlocked(self) -> tuple[int | None, str | None, str | None]:
        """Crawl, waiting up to ``lock_wait`` for the store lock.

        Returns (run id, outcome, a line to log once the outcome is recorded).
        """
        deadline = time.monotonic() + self.lock_wait
        waiting = False
        while True:
            try:
                with Store.from_config(self.config) as store:
                    summary = pipeline.crawl(
                        self.config, store, trigger="scheduled", should_stop=self.stopping.is_set
                    )
                return summary.run_id, summary.outcome, None
            except StoreLockedError as exc:
                if time.monotonic() >= deadline:
                    return (
                        None,
                        "skipped: store locked",
                        f"scheduled run skipped: {exc} (waited {self.lock_wait:g}s)",
                    )
                if not waiting:
                    log.warning("scheduled run waits up to %gs: %s", self.lock_wait, exc)
                    waiting = True
                if self.stopping.wait(min(1.0, self.lock_wait)):
                    return None, None, None


def _abandon_killed_runs(store: Store) -> None:
    """Runs a killed process left open get an outcome, when no run holds the store."""
    if not store.exists():
        return
    try:
        store.lock()
    except StoreLockedError:
        return  # a live run: its row is rightly unfinished
    try:
        for run_id in store.catalog.abandon_unfinished_runs():
            log.warning("run %d was killed before it ended; marked abandoned", run_id)
    finally:
        store.unlock()


def run_scheduler(config: Config, *, started: Callable[[datetime], None] | None = None) -> None:
    """Run the scheduler in the foreground until SIGTERM or SIGINT; then end cleanly."""
    scheduler = Scheduler(config)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        scheduler.stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        scheduler.run(started=started)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def list_jobs(config: Config, now: datetime | None = None) -> list[dict[str, Any]]:
    """The scheduler's job with its trigger, next run time and last run (for --list)."""
    now = now or datetime.now(UTC)
    saved = ScheduleState(config.store / STATE_FILE).get()
    label = describe(config.schedule)
    pid = _scheduler_lock(config.store).holder()
    if saved is not None and saved.trigger == label and saved.next_due:
        next_run = saved.next_due
    else:  # not started yet, or the schedule changed: what a start now would do
        next_run = _iso(build_trigger(config).get_next_fire_time(None, now))
    last = None
    if saved is not None and saved.last_outcome is not None:
        last = {
            "run_id": saved.last_run_id,
            "outcome": saved.last_outcome,
            "finished_at": saved.last_finished_at,
        }
    return [
        {
            "id": JOB_ID,
            "trigger": label,
            "jitter": config.schedule.jitter,
            "misfire_grace_time": config.schedule.misfire_grace_time,
            "next_run_time": next_run,
            "overdue": _parse(next_run) <= now,
            "running": saved is not None and saved.running_since is not None and pid is not None,
            "scheduler_pid": pid,
            "last_run": last,
        }
    ]
