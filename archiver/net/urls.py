"""URL canonical forms: one page is one URL, whatever tracking parameters, default
ports, fragments, dot segments or host and scheme case it arrived with.

A URL that cannot be requested (an unsupported scheme, no host, a port out of range, a
broken IPv6 literal, a host name no resolver takes, more than :data:`MAX_URL_LENGTH`
characters) has no canonical form: :func:`canonicalize` returns it as given (stripped)
and :func:`url_problem` says why, in a few words that become the URL's error. Both come
from one function, so they never disagree, and neither ever raises.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, parse_qsl, quote, urlencode, urlsplit, urlunsplit

__all__ = [
    "MAX_URL_LENGTH",
    "canonicalize",
    "host_of",
    "percent_encoded",
    "remove_dot_segments",
    "url_problem",
]

# Browsers and servers refuse far shorter URLs than httpx (64 KB) does: 8 KB is the
# common request-line limit (Apache, nginx), so a longer URL is an error, not a fetch.
MAX_URL_LENGTH = 8192

_TRACKING_PREFIXES = ("utm_",)


_TRACKING_PARAMS = {
    "fbclid",
    "gclid",
    "dclid",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "ref_src",
    "_ga",
    "yclid",
    "spm",
}

# Characters no host name may hold (the WHATWG "forbidden domain code points" that can
# survive urlsplit: controls, space, and a few delimiters).
_BAD_HOST_CHAR = re.compile(r"[\x00-\x20\x7f<>\\^|%\[\]\"`{}]")
_IPV4_LIKE = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$")
# After a bracketed IPv6 literal only a port may follow.
_BRACKETED_NETLOC = re.compile(r"^(?:[^@\[\]]*@)?\[[^\[\]]*\](?::[0-9]*)?$")
_PATH_SAFE = "/%:@!$&'()*+,;=~"
_QUERY_SAFE = _PATH_SAFE + "?[]"
_DOT = re.compile(r"^(?:\.|%2e)$", re.IGNORECASE)
_DOT_DOT = re.compile(r"^(?:\.|%2e)(?:\.|%2e)$", re.IGNORECASE)


def canonicalize(url: str) -> str:
    """The canonical form of an http(s) URL; any other string is returned stripped.

    Scheme and host lower-cased, default port, fragment, user info and tracking
    parameters removed, dot segments resolved (RFC 3986 5.2.4), what a URL may not hold
    raw (spaces, non-ASCII) percent-encoded. Never raises.
    """
    canonical, _ = _canonical(url)
    return canonical


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be requested ("invalid URL: port out of range", "unsupported
    scheme javascript:", "URL too long ..."); None when it can. Never raises."""
    return _canonical(url)[1]


def host_of(url: str) -> str:
    """The host name of a URL (no port), lower-cased; '' when there is none."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def percent_encoded(url: str) -> str:
    """``url`` as a browser requests it: what may not appear raw in a request line
    (spaces, controls, non-ASCII) percent-encoded in path and query, the fragment
    dropped, nothing else changed (a redirect's target is fetched as the server named
    it, tracking parameters and all). A URL that cannot be parsed is returned as is."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    path = quote(parts.path, safe=_PATH_SAFE)
    query = quote(parts.query, safe=_QUERY_SAFE)
    return urlunsplit((parts.scheme, parts.netloc, path, query, ""))


def remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4: "/a/b/../c/./d" becomes "/a/c/d"; "." and ".." also percent-encoded
    (%2e), as browsers read them. Never climbs above the root."""
    if "." not in path and "%" not in path:
        return path
    segments = path.split("/")
    out: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if _DOT.match(segment):
            if last:
                out.append("")  # "/a/." is the folder "/a/"
        elif _DOT_DOT.match(segment):
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(segment)
    result = "/".join(out)
    if path.startswith("/") and not result.startswith("/"):
        result = "/" + result
    return result


def _canonical(url: str) -> tuple[str, str | None]:
    """(canonical form, None), or (``url`` stripped, the reason it cannot be requested)."""
    url = url.strip()
    try:
        canonical = _build(url)
        # What canonicalising made of it must pass too (percent-encoding lengthens a
        # URL; lower-casing can change a host name).
        problem = _check(canonical) if isinstance(canonical, str) else canonical[1]
    except (ValueError, UnicodeError) as exc:  # belt and braces: never raise
        problem = f"invalid URL: {_reason(exc)}"
    if problem is not None or not isinstance(canonical, str):
        return url, problem or "invalid URL"
    return canonical, None


def _build(url: str) -> str | tuple[None, str]:
    """The canonical form, or (None, problem)."""
    problem = _check(url)
    if problem is not None:
        return None, problem
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port
    host = (parts.hostname or "").rstrip(".")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None and not (
        scheme == "http" and port == 80 or scheme == "https" and port == 443
    ):
        host = f"{host}:{port}"
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not k.lower().startswith(_TRACKING_PREFIXES) and k.lower() not in _TRACKING_PARAMS
        ]
    )
    # Percent-encode what a URL may not contain raw (spaces, non-ASCII), keeping escapes.
    path = quote(remove_dot_segments(parts.path or "/"), safe=_PATH_SAFE)
    return urlunsplit((scheme, host, path, query, ""))


def _check(url: str) -> str | None:
    """The reason ``url`` (absolute, http or https) cannot be requested, or None."""
    if len(url) > MAX_URL_LENGTH:
        return f"URL too long ({len(url):,} characters; at most {MAX_URL_LENGTH:,})"
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        return f"invalid URL: {_reason(exc)}"
    scheme = parts.scheme.lower()
    if not scheme:
        return "not an absolute URL"
    if scheme not in ("http", "https"):
        return f"unsupported scheme {scheme[:20]}:"
    if not parts.netloc or not parts.hostname:
        return "invalid URL: no host"
    if "[" in parts.netloc or "]" in parts.netloc:
        if not _BRACKETED_NETLOC.match(parts.netloc):
            return "invalid URL: invalid IPv6 address"
        try:
            ipaddress.IPv6Address(parts.hostname)
        except ValueError:
            return "invalid URL: invalid IPv6 address"
    else:
        problem = _host_problem(parts)
        if problem is not None:
            return problem
    try:
        port = parts.port
    except ValueError as exc:
        if "out of range" in str(exc):
            return "invalid URL: port out of range"
        return "invalid URL: port is not a number"
    if port == 0:
        return "invalid URL: port 0"
    return None


def _host_problem(parts: SplitResult) -> str | None:
    host = parts.hostname or ""
    bad = f"invalid host name {_shown(host)}"
    if _BAD_HOST_CHAR.search(host):
        return bad
    if _IPV4_LIKE.match(host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return f"invalid URL: invalid IPv4 address {_shown(host)}"
        return None
    labels = host.rstrip(".").split(".")
    if not all(labels):
        return f"{bad} (an empty label)"
    if not host.isascii():
        try:
            ascii_host = host.rstrip(".").encode("idna")
        except UnicodeError:
            return f"{bad} (not a valid internationalised name)"
        labels = ascii_host.decode("ascii").split(".")
    if len(".".join(labels)) > 253 or any(len(label) > 63 for label in labels):
        return f"{bad} (too long)"
    return None


def _shown(text: str, limit: int = 60) -> str:
    """``text`` for a message: repr, cut short."""
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 5] + "…" + shown[-4:]


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    if "IPv6" in text:
        return "invalid IPv6 address"
    return text[:100]
