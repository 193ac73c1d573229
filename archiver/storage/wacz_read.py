"""Read WACZ files: check one before anything of it is used, and read its pages and
archiver's seed posts (the writing side is :mod:`archiver.storage.wacz`).

:func:`open_wacz` accepts a WACZ only if it is a zip, whole, with no member name leaving
its folder, and every member listed in ``datapackage.json`` with a matching SHA-256 and
size; nothing of a file that fails is kept.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from archiver.errors import StoreError, UsageError

from .wacz import DATAPACKAGE, PAGES, SEED_METADATA, SEEDS_WARC

_BLOCK = 1 << 20


@dataclass(frozen=True)
class WaczContents:
    """A WACZ that passed :func:`open_wacz`'s checks, its WARC members extracted."""

    warcs: list[Path]  # extracted WARC members, in the WACZ's order (<n>/<member name>)
    seeds: Path | None  # archiver's seed-post member, when the WACZ has one
    pages: Path | None  # pages/pages.jsonl, when the WACZ has one
    title: str | None


def _bad(path: Path, why: str) -> UsageError:
    return UsageError(f"{path}: not a valid WACZ file ({why}); nothing was imported")


def _safe_name(name: str) -> bool:
    """A member name that stays inside the folder it is extracted to."""
    if not name or "\\" in name or "\x00" in name or name.startswith("/"):
        return False
    parts = PurePosixPath(name).parts
    return not any(part in ("..", "") for part in parts) and ":" not in parts[0]


def open_wacz(path: Path, scratch: Path) -> WaczContents:
    """Check a WACZ and extract its WARC members into ``scratch``; UsageError (nothing
    extracted is kept by the caller) on a file that is no zip, is cut short, has a member
    named outside its folder, lacks ``datapackage.json``, or holds a member whose SHA-256
    or size differs from the package's or that the package does not list."""
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError as exc:
        raise UsageError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise UsageError(f"{path}: is a directory") from exc
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except zipfile.BadZipFile as exc:
        raise _bad(path, "not a zip file, or cut short") from exc
    with archive:
        names = [info.filename for info in archive.infolist()]
        for name in names:
            if not _safe_name(name):
                raise _bad(path, f"member name {name[:100]!r} leaves its folder")
        if len(set(names)) != len(names):
            raise _bad(path, "a member name appears twice")
        if DATAPACKAGE not in names:
            raise _bad(path, "no datapackage.json")
        try:
            package = json.loads(archive.read(DATAPACKAGE))
            listed = {str(r["path"]): r for r in package["resources"]}
        except (KeyError, TypeError, ValueError, zipfile.BadZipFile, zlib.error) as exc:
            raise _bad(path, "datapackage.json cannot be read") from exc
        except OSError as exc:
            raise _bad(path, f"cannot read datapackage.json: {exc}") from exc
        warcs: list[Path] = []
        seeds = pages = None
        for number, info in enumerate(archive.infolist()):
            name = info.filename
            if name in (DATAPACKAGE, "datapackage-digest.json") or name.endswith("/"):
                continue
            if name not in listed:
                raise _bad(path, f"{name} is not listed in datapackage.json")
            is_warc = name.startswith("archive/") and name.endswith((".warc", ".warc.gz"))
            wanted = is_warc or name == PAGES
            target = scratch / f"{number:05d}" / PurePosixPath(name).name
            if wanted:
                target.parent.mkdir()
            sha256, size = _extract(archive, info, target if wanted else None, path)
            expected = listed[name]
            declared = str(expected.get("hash", ""))
            algorithm, _, digest = declared.partition(":")
            if algorithm.lower() != "sha256" or digest.lower() != sha256:
                raise _bad(path, f"{name}: its SHA-256 does not match datapackage.json")
            if "bytes" in expected and expected["bytes"] != size:
                raise _bad(path, f"{name}: its size does not match datapackage.json")
            if name == PAGES:
                pages = target
            if not is_warc or size == 0:
                continue
            if name == SEEDS_WARC:
                seeds = target
            else:
                warcs.append(target)
        title = package.get("title") if isinstance(package, dict) else None
        return WaczContents(warcs, seeds, pages, title if isinstance(title, str) else None)


def _extract(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path | None, path: Path
) -> tuple[str, int]:
    """Read one member through (into ``target`` when given); its SHA-256 and size."""
    sha = hashlib.sha256()
    size = 0
    try:
        with archive.open(info) as member:
            sink = open(target, "wb") if target is not None else None  # noqa: SIM115
            try:
                while block := member.read(_BLOCK):
                    sha.update(block)
                    size += len(block)
                    if sink is not None:
                        sink.write(block)
            finally:
                if sink is not None:
                    sink.close()
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise _bad(path, f"{info.filename} is damaged or cut short: {exc}") from exc
    except OSError as exc:
        raise UsageError(f"{path}: cannot extract {info.filename}: {exc.strerror or exc}") from exc
    return sha.hexdigest(), size


def read_pages(path: Path) -> Iterator[dict[str, Any]]:
    """The page entries of a ``pages.jsonl`` (objects with a ``url``), line by line;
    a line that is not one is passed over."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if isinstance(entry, dict) and isinstance(entry.get("url"), str):
                    yield entry
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from exc


def read_seed_fields(path: Path) -> list[dict[str, Any]]:
    """The catalog fields of each seed post in archiver's seed member (its metadata
    records); UsageError when the member cannot be read."""
    seeds: list[dict[str, Any]] = []
    try:
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                uri = record.rec_headers.get_header("WARC-Target-URI") or ""
                if record.rec_type != "metadata" or not uri.startswith(SEED_METADATA):
                    continue
                fields = json.loads(record.content_stream().read(_BLOCK * 16))
                if not isinstance(fields, dict):
                    raise ValueError("seed metadata is not a JSON object")
                seeds.append(fields)
    except (OSError, ArchiveLoadFailed, ValueError, EOFError) as exc:
        raise UsageError(f"{SEEDS_WARC}: cannot read the seed posts: {exc}") from exc
    return seeds
