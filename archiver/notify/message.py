"""A run's events as one message: a title that says what happened, a Markdown body.

Archived text (titles, sentences, error messages) is written by strangers: it goes into
the body made inert (``md``: no links, images or HTML of its own), so a message never
loads a tracking pixel or shows a link the archive did not make. Long runs are cut: a
message lists at most MAX_PAGES pages per kind and MAX_SENTENCES sentences per page, and
says how many more the report has.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from archiver.changes.render import md

from .events import CHANGED, CLAIM, ERROR, FOLLOW_UP, KINDS, Event

MAX_PAGES = 20
MAX_SENTENCES = 5
MAX_TITLE = 200  # characters of a title: mail subjects and chat titles stay short

_HEADINGS = {
    CLAIM: "Seed claims",
    CHANGED: "Changed pages",
    FOLLOW_UP: "New follow-ups",
    ERROR: "Failing URLs",
}


@dataclass(frozen=True)
class Message:
    title: str
    body: str  # Markdown
    kinds: tuple[str, ...]  # the event kinds in it, in KINDS order


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _summary(kind: str, events: list[Event]) -> str:
    if kind == CLAIM:
        shifts = [s for e in events for s in e.claims]
        contradicted = sum(1 for s in shifts if s.after == "contradicted")
        if contradicted == len(shifts):
            return _count(contradicted, "seed claim contradicted", "seed claims contradicted")
        return _count(len(shifts), "seed claim changed", "seed claims changed")
    if kind == CHANGED:
        return _count(len(events), "page changed", "pages changed")
    if kind == FOLLOW_UP:
        return _count(len(events), "new follow-up", "new follow-ups")
    return _count(len(events), "URL failing", "URLs failing")


def _title(run_id: int, by_kind: dict[str, list[Event]]) -> str:
    parts = [_summary(kind, events) for kind, events in by_kind.items()]
    title = f"archiver run {run_id}: {', '.join(parts)}"
    pages = {e.url for events in by_kind.values() for e in events}
    named = [e.title for events in by_kind.values() for e in events if e.title]
    if len(pages) == 1 and named:  # one story: name it
        title += f" — {named[0]}"
    title = " ".join(title.split())
    return title if len(title) <= MAX_TITLE else title[: MAX_TITLE - 1] + "…"


def _page(event: Event, serve_url: str | None, *, seed: bool = False) -> str:
    name = md(event.title) or "(untitled)"
    versions = ""
    if event.versions is not None:
        old, new = event.versions
        versions = f" v{new}" if old == 0 else f" v{old} → v{new}"
    line = f"**{name}**{versions}  \n{md(event.url)}"
    if serve_url is not None:
        line += f"  \n[open in archiver]({_serve_link(event, serve_url, seed=seed)})"
    return line


def _serve_link(event: Event, serve_url: str, *, seed: bool) -> str:
    if event.versions is None:
        return f"{serve_url}/page?{urlencode({'url': event.url})}"
    old, new = event.versions
    if seed:
        query = {"url": event.url, "seed": "1", "to": str(new)}
    elif old == 0:
        return f"{serve_url}/page?{urlencode({'url': event.url, 'v': str(new)})}"
    else:
        query = {"url": event.url, "from": str(old), "to": str(new)}
    return f"{serve_url}/diff?{urlencode(query)}"


def _cut(items: list[str], limit: int, what: str) -> list[str]:
    if len(items) <= limit:
        return items
    return [*items[:limit], f"- … and {len(items) - limit} more {what} (see the report)"]


def _section(kind: str, events: list[Event], serve_url: str | None) -> list[str]:
    lines = ["", f"## {_HEADINGS[kind]}"]
    for event in events[:MAX_PAGES]:
        if kind == ERROR:
            lines += [
                "",
                f"- {md(event.url)}: {md(event.error)}"
                f" (failing {event.failing_runs} runs in a row)",
            ]
            continue
        lines += ["", _page(event, serve_url, seed=kind == CLAIM), ""]
        if kind == CLAIM:
            items = []
            for shift in event.claims:
                was = "first seen" if shift.before == "new" else f"was {shift.before}"
                items.append(f"- **{shift.after}** ({was}): {md(shift.sentence)}")
                for conflict in shift.conflicts:
                    items.append(
                        f"  - {conflict.kind}: seed **{md(conflict.seed)}**,"
                        f" source **{md(conflict.source)}**"
                    )
                if shift.match and not shift.conflicts:
                    items.append(f"  - source: {md(shift.match)}")
            lines += _cut(items, MAX_SENTENCES * 3, "lines")
        elif kind == CHANGED:
            items = [f"- removed: ~~{md(s)}~~" for s in event.removed]
            items += [f"- added: {md(s)}" for s in event.added]
            lines += _cut(items, MAX_SENTENCES, "changed sentences") or [
                "- (no sentence added or removed: text moved)"
            ]
        elif kind == FOLLOW_UP:
            score = f", relevance {event.score:.2f}" if event.score is not None else ""
            lines.append(f"- found via {md(event.via)}{score}")
    if len(events) > MAX_PAGES:
        lines += ["", f"… and {len(events) - MAX_PAGES} more (see the report)"]
    return lines


def compose(
    run_id: int, events: list[Event], *, report: Path | None, serve_url: str | None
) -> Message | None:
    """The message about ``events`` (one entry's selection); None when there are none."""
    by_kind = {k: [e for e in events if e.kind == k] for k in KINDS}
    by_kind = {k: found for k, found in by_kind.items() if found}
    if not by_kind:
        return None
    title = _title(run_id, by_kind)
    lines = [f"# {md(title)}"]
    for kind, found in by_kind.items():
        lines += _section(kind, found, serve_url)
    lines += ["", "---", ""]
    if report is not None:
        lines.append(f"Report: [{report.name}]({report.as_uri()})  ")
    if serve_url is not None:
        lines.append(f"In archiver: [run {run_id}]({serve_url}/runs/{run_id})")
    return Message(title, "\n".join(lines).rstrip() + "\n", tuple(by_kind))


def trial_message(label: str) -> Message:
    """What `archiver notify test` sends: Korean and Latin text, to see both arrive."""
    title = "archiver: test message — 알림 시험"
    body = (
        f"# {title}\n\n"
        "This entry works: archiver will send its messages here.\n\n"
        "이 주소로 알림이 갑니다. 한글이 깨지지 않고 보이면 설정이 맞습니다.\n\n"
        f"To: {md(label)}\n"
    )
    return Message(title, body, ())
