"""The Catalog class itself, on both engines: every test runs once on the embedded
SQLite catalog and once on a fresh PostgreSQL database (``catalog_location``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from archiver.errors import NotFoundError, StoreError
from archiver.storage.catalog import Catalog
from archiver.storage.migrations import LATEST, schema_version
from archiver.storage.postgres import PostgresDb
from archiver.storage.sqldb import SqlDb
from archiver.storage.sqlite import SqliteDb

from .postgres import PgCluster


@pytest.fixture
def catalog(catalog_location: Path | str) -> Iterator[Catalog]:
    opened = Catalog(catalog_location)
    yield opened
    opened.close()


def _capture(catalog: Catalog, target_id: int, at: str, **fields: object) -> int:
    return catalog.add_capture(
        target_id=target_id,
        run_id=None,
        url=catalog.target(target_id).url,
        fetched_at=at,
        status=200,
        record_type="response",
        **fields,  # type: ignore[arg-type]
    )


def _version(catalog: Catalog, target_id: int, at: str, text: str, *, by_time: bool = False) -> int:
    capture_id = _capture(catalog, target_id, at, payload_digest=f"sha1:{text}")
    return catalog.add_version(
        target_id=target_id,
        capture_id=capture_id,
        fetched_at=at,
        status=200,
        content_hash=f"h-{text}",
        title=f"제목 {text}",
        author=None,
        published_at=None,
        modified_at=None,
        text=text,
        links=[{"url": "https://example.org/a", "text": "링크"}],
        meta={"lang": "ko"},
        by_time=by_time,
    ).version


def test_seeds_register_once_by_their_bytes(catalog: Catalog) -> None:
    fields = dict(
        name="post.txt",
        path="/seeds/post.txt",
        sha256="abc",
        fmt="text",
        title="올트먼의 글",
        source_label="커리어리",
        posted_at="2024-05-01",
        text="본문",
        data={"references": ["https://example.org/x"]},
    )
    first, created = catalog.add_seed(**fields)  # type: ignore[arg-type]
    again, created_again = catalog.add_seed(**fields)  # type: ignore[arg-type]
    assert created and not created_again and again == first
    assert catalog.seeds() == [first] and catalog.seed(first.id).title == "올트먼의 글"
    assert first.data == {"references": ["https://example.org/x"]}
    with pytest.raises(NotFoundError):
        catalog.seed(first.id + 1)


def test_runs_are_recorded_finished_and_abandoned(catalog: Catalog) -> None:
    done = catalog.start_run("manual")
    killed = catalog.start_run("schedule")
    catalog.finish_run(
        done,
        outcome="ok",
        fetched=3,
        new_versions=2,
        unchanged=1,
        not_modified=0,
        errors=[{"url": "https://example.org/", "error": "시간 초과"}],
    )
    assert catalog.abandon_unfinished_runs() == [killed]
    assert catalog.abandon_unfinished_runs() == []
    first, second = catalog.runs()
    assert (first.id, first.outcome, first.fetched, first.new_versions) == (done, "ok", 3, 2)
    assert first.errors == [{"url": "https://example.org/", "error": "시간 초과"}]
    assert second.outcome == "abandoned" and second.reason is not None
    assert catalog.run(killed) == second
    with pytest.raises(NotFoundError):
        catalog.run(killed + 1)


def test_a_target_keeps_its_first_provenance_and_is_found_as_typed(catalog: Catalog) -> None:
    first = catalog.upsert_target("https://example.org/a", via="seed", depth=0, score=0.123456789)
    again = catalog.upsert_target("https://example.org/a", via="link", depth=2)
    assert again == first and first.via == "seed" and first.score == 0.123456789
    assert catalog.find_target("HTTPS://Example.org:443/a#top").id == first.id
    catalog.set_target_state(first.id, "error", error="HTTP 500", tries=2)
    catalog.set_target_score(first.id, 0.5)
    row = catalog.target(first.id)
    assert (row.state, row.last_error, row.tries, row.score) == ("error", "HTTP 500", 2, 0.5)
    assert [t.url for t in catalog.targets()] == ["https://example.org/a"]
    with pytest.raises(NotFoundError):
        catalog.find_target("https://example.org/b")


def test_captures_keep_large_warc_offsets_and_find_their_originals(catalog: Catalog) -> None:
    target = catalog.upsert_target("https://example.org/a", via="seed")
    far = 5 * 2**32  # a WARC position past 4 GiB (a 64-bit column on both engines)
    first = _capture(catalog, target.id, "2024-01-01T00:00:00Z", payload_digest="sha1:X")
    second = _capture(
        catalog,
        target.id,
        "2024-01-02T00:00:00Z",
        payload_digest="sha1:X",
        warc_file="a.warc.gz",
        warc_offset=far,
        warc_length=far + 1,
    )
    assert catalog.capture(second).warc_offset == far
    assert catalog.capture(second).warc_length == far + 1
    last = catalog.last_response(target.url)
    original = catalog.original_response("sha1:X", target.url)
    assert last is not None and last.id == second
    assert original is not None and original.id == first
    assert [c.id for c in catalog.captures(target.id)] == [first, second]


def test_versions_keep_numbers_and_history_order(catalog: Catalog) -> None:
    target = catalog.upsert_target("https://example.org/a", via="seed")
    assert _version(catalog, target.id, "2024-03-01T00:00:00Z", "셋") == 1
    assert _version(catalog, target.id, "2024-04-01T00:00:00Z", "넷") == 2
    # An imported older capture takes its place by time and never becomes the latest.
    assert _version(catalog, target.id, "2024-01-01T00:00:00Z", "하나", by_time=True) == 3
    assert [v.version for v in catalog.versions(target.id)] == [3, 1, 2]
    assert [v.position for v in catalog.versions(target.id)] == [1, 2, 3]
    latest = catalog.latest_version(target.id)
    assert latest is not None and latest.version == 2
    assert latest.links == [{"url": "https://example.org/a", "text": "링크"}]
    previous = catalog.previous_version(catalog.version(target.id, 1))
    assert previous is not None and previous.version == 3
    before = catalog.version_before(target.id, "2024-03-15T00:00:00Z")
    assert before is not None and before.version == 1
    assert {v.version: latest for v, latest in catalog.iter_versions()} == {
        1: False,
        2: True,
        3: False,
    }
    twin = catalog.version_by_hash("h-셋")
    assert twin is not None and twin.version == 1 and twin.url == target.url
    assert catalog.count_versions() == 3
    assert [s.version for s in catalog.version_stubs()] == [3, 1, 2]


def test_an_export_reads_the_texts_as_the_utf8_bytes_held(catalog: Catalog) -> None:
    a = catalog.upsert_target("https://example.org/a", via="seed")
    b = catalog.upsert_target("https://example.org/b", via="seed")
    _version(catalog, b.id, "2024-03-01T00:00:00Z", '둘째 쪽\n"따옴표" \\ 🗞')
    _version(catalog, a.id, "2024-03-01T00:00:00Z", "첫 판")
    _version(catalog, a.id, "2024-01-01T00:00:00Z", "옛 판", by_time=True)
    rows = catalog.version_texts_of([a.id, b.id])
    # Page by page, each page's versions in history order; the text undecoded.
    assert [(r.target_id, r.text) for r in rows] == [
        (a.id, "옛 판".encode()),
        (a.id, "첫 판".encode()),
        (b.id, '둘째 쪽\n"따옴표" \\ 🗞'.encode()),
    ]
    assert rows[0].title == "제목 옛 판" and catalog.version_texts_of([]) == []


def test_deleting_versions_deletes_them_with_their_captures(catalog: Catalog) -> None:
    target = catalog.upsert_target("https://example.org/a", via="seed")
    for day in (1, 2, 3):
        _version(catalog, target.id, f"2024-01-0{day}T00:00:00Z", f"v{day}")
    old, middle, last = catalog.versions(target.id)
    # A capture a kept version still points at cannot go: the whole deletion fails.
    with pytest.raises(StoreError):
        catalog.delete_versions([middle.id], [last.capture_id])
    assert [v.version for v in catalog.versions(target.id)] == [1, 2, 3]
    catalog.delete_versions([old.id], [old.capture_id])
    assert [v.version for v in catalog.versions(target.id)] == [2, 3]
    assert old.capture_id not in {c.id for c in catalog.captures()}
    # Numbers are never reused: the next version is 4.
    assert _version(catalog, target.id, "2024-01-04T00:00:00Z", "v4") == 4


def test_a_failed_transaction_leaves_nothing_and_a_savepoint_undoes_its_part(
    catalog: Catalog,
) -> None:
    with pytest.raises(RuntimeError), catalog.transaction():
        catalog.start_run("lost")
        raise RuntimeError("the page failed")
    assert catalog.runs() == []
    with catalog.transaction():
        kept = catalog.start_run("kept")
        with pytest.raises(RuntimeError), catalog.transaction():
            catalog.start_run("undone")
            raise RuntimeError("the inner step failed")
    assert [r.id for r in catalog.runs()] == [kept]


def test_a_failed_statement_is_a_store_error(catalog: Catalog) -> None:
    target = catalog.upsert_target("https://example.org/a", via="seed")
    capture = _capture(catalog, target.id, "2024-01-01T00:00:00Z")
    catalog.add_version(
        target_id=target.id,
        capture_id=capture,
        fetched_at="2024-01-01T00:00:00Z",
        status=200,
        content_hash="h",
        title=None,
        author=None,
        published_at=None,
        modified_at=None,
        text="x",
        links=[],
        meta={},
    )
    with pytest.raises(StoreError, match="catalog write failed"):  # version 1 again
        catalog._write(  # noqa: SLF001
            "INSERT INTO versions(target_id, version, capture_id, fetched_at, content_hash,"
            " text, links, meta) VALUES (?,?,?,?,?,?,?,?)",
            (target.id, 1, capture, "2024-01-01T00:00:00Z", "h", "x", "[]", "{}"),
        )
    assert catalog.count_versions() == 1  # and the connection still works


def _open(location: Path | str) -> SqlDb:
    return (
        PostgresDb(location) if isinstance(location, str) else SqliteDb(location, read_only=False)
    )


def test_two_processes_opening_a_new_catalog_at_once_create_it_once(
    catalog_location: Path | str,
) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def opener() -> None:
        try:
            start.wait()
            Catalog(catalog_location).close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    db = _open(catalog_location)
    assert schema_version(db) == LATEST
    assert db.rows("SELECT COUNT(*) AS n FROM meta WHERE key = 'schema_version'")[0]["n"] == 1
    db.close()


def test_a_schema_1_catalog_is_migrated_on_open_keeping_its_rows(
    catalog_location: Path | str,
) -> None:
    catalog = Catalog(catalog_location)
    target = catalog.upsert_target("https://example.org/a", via="seed")
    for day in (1, 2):
        _version(catalog, target.id, f"2024-01-0{day}T00:00:00Z", f"v{day}")
    catalog.close()
    db = _open(catalog_location)  # back to schema 1, as version 0.1 made it
    db.run("ALTER TABLE versions DROP COLUMN position")
    db.run("ALTER TABLE runs DROP COLUMN reason")
    db.run("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    db.close()
    catalog = Catalog(catalog_location)
    assert [(v.version, v.position) for v in catalog.versions(target.id)] == [(1, 1), (2, 2)]
    run = catalog.start_run("manual")
    catalog.finish_run(
        run,
        outcome="failed",
        fetched=0,
        new_versions=0,
        unchanged=0,
        not_modified=0,
        errors=[],
        reason="why",
    )
    assert catalog.run(run).reason == "why"
    catalog.close()
    db = _open(catalog_location)
    assert schema_version(db) == LATEST
    db.close()


def test_a_schema_4_catalog_gains_the_notification_outbox(
    catalog_location: Path | str,
) -> None:
    catalog = Catalog(catalog_location)
    run = catalog.start_run("manual")
    catalog.close()
    db = _open(catalog_location)  # as version 4 of the schema made it
    db.run("DROP TABLE notifications")
    db.run("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
    db.close()
    catalog = Catalog(catalog_location)
    for _ in range(2):  # one message per run and entry, however often it is queued
        catalog.add_notification(
            run, "abc", label="json://h/", events=["claim"], title="주장 반박", body="본문"
        )
    [row] = catalog.notifications()
    assert (row.run_id, row.state, row.attempts, row.title) == (run, "pending", 0, "주장 반박")
    catalog.set_notification(row.id, state="pending", attempts=2, error="refused")
    catalog.set_notification(row.id, state="sending")
    assert catalog.settle_interrupted_notifications() == [row.id]
    [row] = catalog.notifications(run_id=run)
    assert row.state == "unknown" and row.attempts == 2 and "may or may not" in (row.error or "")
    assert catalog.notifications(state="pending") == []
    catalog.close()
    db = _open(catalog_location)
    assert schema_version(db) == LATEST
    db.close()


def test_a_cluster_catalog_reconnects_after_a_server_restart(
    pg_cluster: PgCluster, pg_dsn: str
) -> None:
    catalog = Catalog(pg_dsn)
    first = catalog.start_run("manual")
    pg_cluster.restart()  # every connection is dropped
    second = catalog.start_run("manual")  # a lone statement: sent again on a new one
    pg_cluster.restart()
    with catalog.transaction():  # a page's transaction starts on a live connection
        third = catalog.start_run("manual")
    # A restart inside a transaction fails that transaction only, and nothing of it lands.
    with pytest.raises(StoreError), catalog.transaction():
        catalog.start_run("lost")
        pg_cluster.restart()
        catalog.start_run("lost")
    assert [r.id for r in catalog.runs()] == [first, second, third]
    catalog.close()


def _seed_version(catalog: Catalog, seed_id: int, text: str, refs: list[str]) -> int:
    return catalog.add_seed_version(
        seed_id,
        run_id=None,
        capture_id=None,
        fetched_at="2024-02-01T00:00:00Z",
        content_hash=f"h-{text}",
        title="게시물",
        source_label=None,
        posted_at=None,
        text=f"게시물\n{text}",
        data={"body": [text], "references": [{"url": u, "label": None} for u in refs]},
    ).version


def test_a_schema_4_catalog_gains_seeds_by_url_keeping_its_seeds(
    catalog_location: Path | str,
) -> None:
    catalog = Catalog(catalog_location)
    catalog.add_seed(
        name="file", path="/seeds/a.txt", sha256="a" * 64, fmt="text", title="파일 게시물",
        source_label=None, posted_at=None, text="파일 게시물", data={"references": []},
    )  # fmt: skip
    catalog.close()
    db = _open(catalog_location)  # back to schema 4, as issue 14's version made it
    db.run("DROP INDEX seeds_page_url")
    for column in ("page_url", "state", "state_since", "state_run"):
        db.run(f"ALTER TABLE seeds DROP COLUMN {column}")
    db.run("DROP TABLE seed_versions")
    db.run("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
    db.close()

    catalog = Catalog(catalog_location)
    (old,) = catalog.seeds()
    assert (old.title, old.page_url, old.state, old.versions) == ("파일 게시물", None, "live", 1)
    row, created = catalog.add_seed(
        name="post", path=None, sha256="b" * 64, fmt="careerly-page", title="게시물",
        source_label=None, posted_at=None, text="게시물", data={"references": []},
        page_url="https://careerly.co.kr/comments/1",
    )  # fmt: skip
    assert created and catalog.seed_by_page("https://careerly.co.kr/comments/1") == row
    assert _seed_version(catalog, row.id, "첫 문장", ["https://a.example/1"]) == 1
    assert _seed_version(catalog, row.id, "고친 문장", []) == 2
    latest = catalog.seed(row.id)  # the seeds row holds the latest version
    assert (latest.text, latest.versions, latest.data["references"]) == ("게시물\n고친 문장", 2, [])
    texts = [v.text for v in catalog.seed_versions(row.id)]
    assert texts == ["게시물\n첫 문장", "게시물\n고친 문장"]
    catalog.set_seed_state(row.id, "deleted", run_id=None)
    since = catalog.seed(row.id).state_since
    catalog.set_seed_state(row.id, "deleted", run_id=None)  # seen again: first time kept
    assert catalog.seed(row.id).state == "deleted" and catalog.seed(row.id).state_since == since
    with pytest.raises(NotFoundError):
        catalog.seed_version(row.id, 3)
    catalog.close()
    db = _open(catalog_location)
    assert schema_version(db) == LATEST == 7
    db.close()
