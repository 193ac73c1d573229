"""The WACZ writer's own zip (archiver.storage.zipout) and its JSON escaping of UTF-8
text, checked against what Python's zipfile and json read and write."""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from pathlib import Path

import pytest

from archiver.storage.wacz import Page, json_string_body
from archiver.storage.zipout import ZipOut

WHEN = (2026, 11, 30, 4, 30, 17)

TEXTS = [
    "",
    "plain ASCII",
    "줄바꿈\n두 번째 줄\n",
    'quotes " and back\\slashes \\n (not a newline)',
    "a tab\there, a CR\r, NUL\x00, unit separator\x1f, DEL\x7f",
    "line separators \u2028 \u2029, emoji 🗞, 반도체",
    '\\"\n',
]


@pytest.mark.parametrize("text", TEXTS)
def test_text_escaped_as_json_dumps_does(text: str) -> None:
    expected = json.dumps(text, ensure_ascii=False)[1:-1].encode("utf-8")
    assert json_string_body(text.encode("utf-8")) == expected  # bytes, never decoded
    assert json_string_body(text) == expected


def test_page_line_is_the_json_of_its_fields() -> None:
    text = '본문\n"인용" \\ 끝\t'
    when = "2026-11-30T04:30:17Z"
    page = Page("https://example.com/a", when, "제목", text.encode(), {"depth": 1})
    line = b"".join(page.json_line())
    assert line.endswith(b"}\n") and line.count(b"\n") == 1
    data = json.loads(line)
    assert data["text"] == text and data["title"] == "제목" and data["archiver"] == {"depth": 1}
    assert line == json.dumps(data, ensure_ascii=False).encode() + b"\n"


def test_streamed_and_appended_members_read_back(tmp_path: Path) -> None:
    spooled = tmp_path / "spooled"
    payload = bytes(range(256)) * 5000
    spooled.write_bytes(payload)
    with open(tmp_path / "out.zip", "w+b") as fh:
        out = ZipOut(fh)
        member = out.member("pages/pages.jsonl", WHEN)
        for n in range(1000):
            member.write(f'{{"n": {n}, "text": "가나다"}}\n'.encode())
        with pytest.raises(ValueError, match="still open"):
            out.member("other", WHEN)
        member.close()
        with open(spooled, "rb") as src:
            out.append("archive/data.warc.gz", WHEN, src, zlib.crc32(payload))
        out.member("datapackage.json", WHEN).close()  # an empty member
        out.close()
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        assert archive.testzip() is None  # every CRC matches
        names = [i.filename for i in archive.infolist()]
        assert names == ["pages/pages.jsonl", "archive/data.warc.gz", "datapackage.json"]
        assert all(i.compress_type == zipfile.ZIP_STORED for i in archive.infolist())
        assert archive.getinfo("archive/data.warc.gz").date_time == (2026, 11, 30, 4, 30, 16)
        data = archive.read("archive/data.warc.gz")
        lines = archive.read("pages/pages.jsonl").splitlines()
    assert hashlib.sha256(data).digest() == hashlib.sha256(payload).digest()
    assert len(lines) == 1000 and json.loads(lines[-1]) == {"n": 999, "text": "가나다"}


def test_more_members_than_a_plain_zip_holds(tmp_path: Path) -> None:
    count = 0x10000 + 5  # past the 16-bit count: the zip64 end records are needed
    with open(tmp_path / "many.zip", "w+b") as fh:
        out = ZipOut(fh)
        for n in range(count):
            member = out.member(f"m/{n}", WHEN)
            member.write(b"%d" % n)
            member.close()
        out.close()
    with zipfile.ZipFile(tmp_path / "many.zip") as archive:
        infos = archive.infolist()
        assert len(infos) == count
        assert archive.read(infos[-1]) == b"%d" % (count - 1)


def test_a_member_written_by_another_writer_reads_back(tmp_path: Path) -> None:
    """The pages worker's way: the member's bytes written through another handle at its
    data offset, then closed with their CRC-32 and size; the members after it follow."""
    path = tmp_path / "out.zip"
    text = "반도체 기사\n".encode() * 20_000
    with open(path, "w+b") as fh:
        out = ZipOut(fh)
        member = out.member("pages/pages.jsonl", WHEN)
        fh.flush()
        with open(path, "r+b") as other:  # its own file position, as the worker's
            other.seek(member.data_offset)
            other.write(text)
        member.written(zlib.crc32(text), len(text))
        after = out.member("after", WHEN)
        after.write(b"the next member")
        after.close()
        out.close()
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None  # every CRC-32 checks
        assert archive.read("pages/pages.jsonl") == text
        assert archive.read("after") == b"the next member"
