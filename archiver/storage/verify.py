"""`archiver verify`: check that the catalog and the WARC files agree.

Every record a capture points at is re-read: its URI must name the catalog's page (the
two are compared in canonical form, since an imported record keeps the URI as its tool
wrote it: a tracking parameter, a fragment, an upper-case host or a default port), its
payload digest must match the catalog, and a response's payload must match its own
digest (streamed, in whichever algorithm and encoding the record names). Every gzip WARC file is
also scanned end to end: a torn tail (a record cut short by a crash or a full disk) is
reported as a note, not a problem, since nothing in the catalog points at it.

A store on S3 (:mod:`archiver.storage.spool`) is read where each file is: a record in the
spool from there, any other with one range request; every uploaded object must exist
with the size and SHA-256 recorded at upload, and files still in the spool are reported
as waiting (not a problem: the next run or `archiver upload` sends them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archiver.errors import NotFoundError, ObjectStoreError, StoreError, UsageError
from archiver.net.urls import canonicalize

from .spool import check_remote, open_record
from .store import Store
from .warc import check_record, complete_bytes


@dataclass(frozen=True)
class TornTail:
    """A WARC file whose last record was cut short; nothing in the catalog refers to it."""

    file: str
    complete_bytes: int
    torn_bytes: int


@dataclass(frozen=True)
class VerifyReport:
    """What `verify` found: ``problems`` (one line per damaged capture) mean damage."""

    checked: int
    problems: list[str] = field(default_factory=list)
    torn_tails: list[TornTail] = field(default_factory=list)
    waiting: list[str] | None = None  # a store on S3: spool files not yet uploaded

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "checked": self.checked,
            "problems": self.problems,
            "torn_tails": [
                {"file": t.file, "complete_bytes": t.complete_bytes, "torn_bytes": t.torn_bytes}
                for t in self.torn_tails
            ],
        }
        if self.waiting is not None:  # only a store on S3 has a spool
            data["waiting_upload"] = self.waiting
        return data


def verify_store(store: Store) -> VerifyReport:
    """Re-read every record the catalog references, then scan every file's tail."""
    if not store.exists():
        raise NotFoundError(f"no archive at {store.root}; run `archiver crawl` first")
    if store.remote is None and any(r.state == "uploaded" for r in store.catalog.warc_files()):
        raise UsageError(
            f"the WARC files of {store.root} are on S3: run verify with the config whose"
            " [store] warc names their bucket (--config)"
        )
    checked = 0
    problems: list[str] = []
    for capture in store.catalog.captures():
        if capture.warc_file is None or capture.warc_offset is None:
            continue
        checked += 1
        where = f"capture {capture.id} ({capture.warc_file}@{capture.warc_offset})"
        try:
            stream = open_record(store, capture.warc_file, capture.warc_offset, capture.warc_length)
            record = check_record(stream, f"{capture.warc_file}@{capture.warc_offset}")
        except ObjectStoreError:
            raise  # S3 unreachable or refusing: no use going through every record
        except StoreError as exc:
            problems.append(f"{where}: {exc}")
            continue
        # One problem per capture: a damaged record usually fails several checks at once.
        if canonicalize(record.uri) != canonicalize(capture.url):
            problems.append(
                f"{where}: record is for {record.uri or '(nothing)'}, catalog says {capture.url}"
            )
        elif record.payload_digest != capture.payload_digest:
            problems.append(
                f"{where}: payload digest {record.payload_digest} differs from"
                f" catalog {capture.payload_digest}"
            )
        elif record.payload_ok is False:
            problems.append(f"{where}: payload does not match its digest")
    remote = check_remote(store)  # a store on S3: every uploaded object is there, whole
    problems += remote.problems
    torn: list[TornTail] = []
    for path in sorted(store.warc_dir.glob("*.warc.gz")) if store.warc_dir.is_dir() else []:
        size = path.stat().st_size
        good = complete_bytes(path)
        if good < size:
            torn.append(TornTail(path.name, good, size - good))
    waiting = remote.waiting if store.remote is not None else None
    return VerifyReport(checked, problems, torn, waiting)
