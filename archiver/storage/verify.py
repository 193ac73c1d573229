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

The original of a recompressed import (``<store>/originals/``, always local) must still
hash to the SHA-256 its name starts with and decompress to exactly the bytes its copy in
``warc/`` (or on S3) does; an original without its copy (left by a crash during the
import, before any capture pointed at the copy) is a note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archiver.errors import NotFoundError, ObjectStoreError, StoreError, UsageError
from archiver.net.urls import canonicalize

from .foreign import check_record, is_arc_name
from .regzip import same_content
from .spool import check_remote, open_record, readable_copy
from .store import Store
from .warc import complete_bytes, file_sha256


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
    originals: int = 0  # originals of recompressed imports checked
    lone_originals: list[str] = field(default_factory=list)  # without their copy: a note

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
        if self.originals or self.lone_originals:  # a store with recompressed imports
            data["originals"] = self.originals
            data["lone_originals"] = self.lone_originals
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
            record = check_record(
                stream,
                f"{capture.warc_file}@{capture.warc_offset}",
                arc=is_arc_name(capture.warc_file),
            )
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
    originals, lone = _check_originals(store, problems)
    return VerifyReport(checked, problems, torn, waiting, originals, lone)


def _check_originals(store: Store, problems: list[str]) -> tuple[int, list[str]]:
    """Check each kept original against its name and its recompressed copy."""
    checked, lone = 0, []
    folder = store.originals_dir
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if not path.name.startswith("import-") or path.name.endswith(".part"):
            continue
        try:
            with readable_copy(store, path.name) as copy:  # on S3: downloaded aside
                if copy is None:
                    lone.append(f"originals/{path.name}")
                    continue
                checked += 1
                sha = file_sha256(path)
                same = same_content(path, copy[0])
        except OSError as exc:
            problems.append(f"originals/{path.name}: cannot read: {exc.strerror or exc}")
            continue
        if not path.name.startswith(f"import-{sha[:32]}"):
            problems.append(f"originals/{path.name}: its SHA-256 is {sha}: the file changed")
        elif not same:
            problems.append(
                f"originals/{path.name}: warc/{path.name} no longer holds the same records"
            )
    return checked, lone
