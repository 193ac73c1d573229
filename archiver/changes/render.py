"""Format changes: plain unified text, markdown, JSON, self-contained HTML, rich terminal.

Archived text is hostile input: HTML goes through jinja2 with autoescape on (and a
Content-Security-Policy that allows no script at all), markdown escapes every character
that a renderer could turn into markup or a link. Links point only at http(s) URLs and
at the archived WARC files (in the store, or their objects on S3 once uploaded).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .compare import SeedChange, VersionChange, VersionRef
from .diff import Hunk, TextDiff

if TYPE_CHECKING:
    import jinja2
    from rich.console import RenderableType

    from archiver.config import RemoteWarc

FORMATS = ("terminal", "text", "markdown", "json", "html")
STATUS_MARK = {"present": "=", "paraphrased": "~", "contradicted": "!", "absent": "-"}
SIDE_BY_SIDE_WIDTH = 120
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")

Change = VersionChange | SeedChange


@dataclass(frozen=True)
class Row:
    """One change as a side-by-side row: parts are (op, text), op equal/delete/insert/move."""

    label: str
    kind: str  # "edited" | "added" | "removed" | "moved"
    old: list[tuple[str, str]]
    new: list[tuple[str, str]]
    inline: list[tuple[str, str]]  # old and new merged: deletions next to their insertions


def rows(diff: TextDiff) -> list[Row]:
    out: list[Row] = []
    for h in diff.hunks:
        out.append(_row(h))
    return out


def _row(h: Hunk) -> Row:
    where = f"¶{(h.new_index if h.new_index is not None else h.old_index or 0) + 1}"
    if h.op == "move":
        assert h.old_index is not None and h.new_index is not None
        label = f"¶{h.old_index + 1} → ¶{h.new_index + 1} moved"
        return Row(
            label,
            "moved",
            [("move", h.old or "")],
            [("move", h.new or "")],
            [("move", h.new or "")],
        )
    if h.op == "replace":
        old = [(w.op, w.text) for w in h.words if w.op != "insert"]
        new = [(w.op, w.text) for w in h.words if w.op != "delete"]
        return Row(f"{where} edited", "edited", old, new, [(w.op, w.text) for w in h.words])
    unit = "paragraph" if h.granularity == "paragraph" else "sentence"
    if h.op == "insert":
        part = [("insert", h.new or "")]
        return Row(f"{where} {unit} added", "added", [], part, part)
    part = [("delete", h.old or "")]
    return Row(f"{where} {unit} removed", "removed", part, [], part)


def render(
    change: Change,
    fmt: str,
    *,
    link_base: Path | None = None,
    warc_dir: Path | None = None,
    remote: RemoteWarc | None = None,
) -> str:
    """``change`` as text, markdown, json or html (a whole page)."""
    if fmt == "json":
        return json.dumps(change.as_json(), ensure_ascii=False, indent=2)
    if fmt == "markdown":
        return markdown(change)
    if fmt == "html":
        links = Links(link_base or Path.cwd(), warc_dir, remote)
        return template("diff.html.j2").render(
            change=change, links=links, is_seed=isinstance(change, SeedChange)
        )
    return text(change)


# -- text -------------------------------------------------------------------------------


def text(change: Change) -> str:
    if isinstance(change, SeedChange):
        a = change.alignment
        lines = [
            f"{change.url} v{change.version.version} against {change.seed}: similarity "
            f"{a.similarity}, coverage {a.coverage}"
        ]
        for sentence in a.sentences:
            lines.append(f"{STATUS_MARK[sentence.status]} [{sentence.status}] {sentence.text}")
            lines += [f"    ! {conflict_text(c)}" for c in sentence.conflicts]
        return "\n".join(lines)
    lines = [f"# {key}: {old} -> {new}" for key, (old, new) in change.metadata.items()]
    lines += [
        f"# moved: {r.label.removesuffix(' moved')}: {_short(r.new[0][1])}"
        for r in rows(change.diff)
        if r.kind == "moved"
    ]
    if change.seed and change.seed.changes:
        s = change.seed
        lines.append(f"# seed {s.seed} coverage {s.before.coverage} -> {s.after.coverage}")
        lines += [f"# seed sentence {c.change}: {c.text}{_conflicts(c.after)}" for c in s.changes]
    if change.granularity != "word":
        return "\n".join(lines + ([change.unified] if change.unified else []))
    if change.diff.hunks:
        lines += [
            f"--- {change.url} v{change.old.version}",
            f"+++ {change.url} v{change.new.version}",
        ]
    sign = {"edited": "~", "added": "+", "removed": "-"}
    for r in rows(change.diff):
        if r.kind != "moved":
            body = "".join(_WDIFF[op].format(t) for op, t in r.inline)
            lines.append(f"{sign[r.kind]}{r.label}: {body}")
    return "\n".join(lines)


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# -- markdown ---------------------------------------------------------------------------


def md(text: str | None) -> str:
    """Archived text made inert in markdown: no HTML, no links, no emphasis of its own."""
    if not text:
        return ""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\n", " ")


def md_parts(parts: list[tuple[str, str]]) -> str:
    out = []
    for op, t in parts:
        core = md(t.strip())
        lead, trail = t[: len(t) - len(t.lstrip())], t[len(t.rstrip()) :]
        if op in ("delete",) and core:
            out.append(f"{lead}~~{core}~~{trail}")
        elif op in ("insert",) and core:
            out.append(f"{lead}**{core}**{trail}")
        else:
            out.append(md(t))
    return "".join(out)


def markdown(change: Change, level: int = 2) -> str:
    h = "#" * level
    if isinstance(change, SeedChange):
        a = change.alignment
        lines = [
            f"{h} {md(change.url)} v{change.version.version} against {change.seed}",
            "",
            f"Coverage {a.coverage:.0%}, similarity {a.similarity}.",
            "",
        ]
        lines += seed_table_md(a.sentences)
        if a.page_only:
            lines += ["", "What the page says that the seed does not:", ""]
            lines += [f"- {md(s)}" for s in a.page_only]
        return "\n".join(lines)
    lines = [
        f"{h} {md(change.url)}: v{change.old.version} → v{change.new.version}",
        "",
        f"Similarity {change.diff.similarity}; {len(change.diff.hunks)} changes.",
        "",
    ]
    if change.metadata:
        lines += [f"{h}# Metadata", "", "| field | before | after |", "|---|---|---|"]
        lines += [f"| {k} | {md(a)} | {md(b)} |" for k, (a, b) in change.metadata.items()]
        lines.append("")
    if change.diff.hunks:
        lines += [f"{h}# Text", ""]
        for r in rows(change.diff):
            if r.kind == "edited":
                lines.append(f"- {r.label}: {md_parts(r.old)} → {md_parts(r.new)}")
            else:
                lines.append(f"- {r.label}: {md_parts(r.new or r.old)}")
        lines.append("")
    if change.seed:
        s = change.seed
        lines += [
            f"{h}# Seed post {s.seed}",
            "",
            f"Coverage {s.before.coverage:.0%} → {s.after.coverage:.0%}.",
            "",
        ]
        for c in s.changes:
            lines.append(
                f"- **{c.change}**: {md(c.text)} (was: {md(c.before.match) or '—'};"
                f" now: {md(c.after.match) or '—'}){md(_conflicts(c.after))}"
            )
    return "\n".join(lines).rstrip()


def conflict_text(conflict: Any) -> str:
    """One conflict for people: "amount: seed 1,200억 원, source 1,500억 원"."""
    return f"{conflict.kind}: seed {conflict.seed}, source {conflict.source}"


def _conflicts(sentence: Any) -> str:
    return "".join(f" [{conflict_text(c)}]" for c in sentence.conflicts)


def seed_table_md(sentences: list[Any]) -> list[str]:
    lines = ["| seed sentence | status | best match in the page | score |", "|---|---|---|---|"]
    for s in sentences:
        status = s.status + "".join(f" ({md(conflict_text(c))})" for c in s.conflicts)
        lines.append(f"| {md(s.text)} | {status} | {md(s.match) or '—'} | {s.score:.2f} |")
    return lines


# -- html -------------------------------------------------------------------------------


class Links:
    """hrefs for a page written in ``base``: archived versions (WARC) and live URLs."""

    def __init__(self, base: Path, warc_dir: Path | None, remote: RemoteWarc | None = None) -> None:
        self.base = base
        self.warc_dir = warc_dir
        self.remote = remote  # WARC files on S3: a file no longer in the spool is there

    def archived(self, ref: VersionRef) -> str | None:
        if self.warc_dir is None or not ref.warc_file:
            return None
        if self.remote is not None and not (self.warc_dir / ref.warc_file).is_file():
            return self.remote.object_url(ref.warc_file)
        return Path(os.path.relpath(self.warc_dir / ref.warc_file, self.base)).as_posix()

    @staticmethod
    def live(url: str) -> str | None:
        return url if url.lower().startswith(("http://", "https://")) else None


@cache
def _environment() -> jinja2.Environment:
    import jinja2  # only reports and HTML diffs need it

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("archiver.changes", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(rows=rows, percent=lambda x: f"{x:.0%}")
    return env


def template(name: str) -> jinja2.Template:
    return _environment().get_template(name)


# -- terminal ---------------------------------------------------------------------------

_STYLE = {"delete": "red strike", "insert": "bold green", "move": "cyan", "equal": ""}
_WDIFF = {"equal": "{}", "delete": "[-{}-]", "insert": "{{+{}+}}", "move": "{}"}


def terminal(change: Change, width: int, *, color: bool = True) -> RenderableType:
    """A coloured inline diff; old and new side by side when the terminal is wide.
    Without colour, changed words are marked [-old-]{+new+} as in the text format."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    if isinstance(change, SeedChange):
        a = change.alignment
        table = Table(
            "",
            "seed sentence",
            "best match",
            "score",
            expand=True,
            title=f"{change.url} v{change.version.version} against {change.seed}: "
            f"coverage {a.coverage:.0%}",
        )
        colour = {
            "present": "green", "paraphrased": "yellow", "contradicted": "magenta", "absent": "red"
        }  # fmt: skip
        for sentence in a.sentences:
            status = Text(sentence.status, colour[sentence.status])
            for conflict in sentence.conflicts:
                status.append("\n" + conflict_text(conflict), "magenta")
            table.add_row(
                status,
                sentence.text,
                sentence.match or "—",
                f"{sentence.score:.2f}",
            )
        return table
    parts: list[RenderableType] = [
        Text(
            f"{change.url}: v{change.old.version} → v{change.new.version}, "
            f"similarity {change.diff.similarity}",
            style="bold",
        )
    ]
    for key, (old, new) in change.metadata.items():
        parts.append(Text.assemble(f"{key}: ", (str(old), "red"), " → ", (str(new), "green")))

    def styled(pieces: list[tuple[str, str]]) -> Text:
        if not color:
            return Text("".join(_WDIFF[op].format(t) for op, t in pieces))
        return Text.assemble(*((t, _STYLE[op]) for op, t in pieces))

    if width >= SIDE_BY_SIDE_WIDTH:
        table = Table(
            "", f"v{change.old.version}", f"v{change.new.version}", expand=True, show_lines=True
        )
        for r in rows(change.diff):
            table.add_row(Text(r.label, "dim"), styled(r.old), styled(r.new))
        parts.append(table)
    else:
        for r in rows(change.diff):
            parts.append(Text.assemble((r.label + "  ", "dim"), styled(r.inline)))
    if change.seed and change.seed.changes:
        s = change.seed
        parts.append(
            Text(
                f"seed {s.seed}: coverage {s.before.coverage:.0%} → {s.after.coverage:.0%}",
                style="bold",
            )
        )
        for c in s.changes:
            parts.append(Text.assemble((f"  {c.change}: ", "yellow"), c.text + _conflicts(c.after)))
    return Group(*parts)
