"""`archiver replay`: the store's pages replayed by pywb on 127.0.0.1, from the store's
own WARC files, read in place.

pywb reads WARC files where they are, but finds records through an index of its own: a
CDXJ index is built from the catalog (each capture's record head read through
:func:`archiver.storage.spool.open_record`), sorted in bounded runs, and written with a
pywb configuration naming it and ``<store>/warc/`` into ``<store>/replay/`` (derived
data, rebuilt by every replay; written aside and renamed). pywb is not a dependency of
archiver: ``pip install pywb``. A store whose WARC files are on S3 is not replayed in
place (pywb would need the bucket's credentials): export a WACZ and replay that.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

from archiver.errors import StoreError, UsageError
from archiver.storage import spool
from archiver.storage.cdxj import HEAD_BYTES, SortedIndex, index_line, record_head
from archiver.storage.store import Store

log = logging.getLogger(__name__)

COLLECTION = "archive"
_BATCH = 500


def wayback_program() -> str:
    """pywb's server program, beside this Python's or on PATH; UsageError if absent."""
    beside = Path(sys.executable).parent / "wayback"
    found = str(beside) if beside.exists() else shutil.which("wayback")
    if found is None:
        raise UsageError("replay needs pywb, which is not installed: pip install pywb")
    return found


def build_replay(store: Store) -> tuple[Path, int]:
    """Write ``<store>/replay/`` (index and pywb config); (its folder, records indexed).
    A record that cannot be read is left out with a warning."""
    if store.remote is not None:
        raise UsageError(
            "this store's WARC files are on S3, which pywb cannot read in place:"
            " export a WACZ (archiver export --wacz FILE) and replay that"
        )
    if not store.exists():
        raise UsageError(f"no archive at {store.root}")
    catalog = store.catalog
    target = store.root / "replay"
    try:
        scratch = Path(tempfile.mkdtemp(prefix=".replay-", dir=store.root))
    except OSError as exc:
        raise StoreError(f"cannot write in {store.root}: {exc.strerror or exc}") from exc
    try:
        index = SortedIndex(scratch)
        count = 0
        targets = [t.id for t in catalog.targets()]
        for start in range(0, len(targets), _BATCH):
            for capture in catalog.captures_of(targets[start : start + _BATCH]):
                if capture.warc_file is None or capture.warc_offset is None:
                    continue
                length = capture.warc_length or 0
                try:
                    with spool.open_record(
                        store, capture.warc_file, capture.warc_offset, length
                    ) as stream:
                        head = record_head(stream.read(min(length, HEAD_BYTES)))
                except StoreError as exc:
                    log.warning("%s: not replayable: %s", capture.url, exc)
                    continue
                if head.replayable:
                    index.add(index_line(head, capture.warc_file, capture.warc_offset, length))
                    count += 1
        with open(scratch / "index.cdxj", "w", encoding="utf-8") as fh:
            fh.writelines(index.sorted_lines())
        for run in index.runs:
            run.unlink()
        (scratch / "config.yaml").write_text(
            f"collections:\n  {COLLECTION}:\n"
            f"    index_paths: {_yaml(scratch.with_name('replay') / 'index.cdxj')}\n"
            f"    archive_paths: {_yaml(store.warc_dir, folder=True)}\n",
            encoding="utf-8",
        )
        old = store.root / ".replay-old"
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            target.rename(old)
        scratch.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        raise StoreError(f"cannot write {target}: {exc.strerror or exc}") from exc
    return target, count


def _yaml(path: Path, *, folder: bool = False) -> str:
    """A path as a YAML double-quoted string (a folder with its trailing slash)."""
    text = str(path.resolve()) + ("/" if folder else "")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def run_wayback(folder: Path, port: int) -> None:
    """Replace this process with pywb serving ``folder``'s config on 127.0.0.1:port."""
    program = wayback_program()
    os.chdir(folder)  # pywb reads ./config.yaml
    os.execv(program, [program, "--bind", "127.0.0.1", "--port", str(port)])
