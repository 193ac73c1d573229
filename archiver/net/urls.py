"""URL canonical forms: one page is one URL, whatever tracking parameters, default
ports, fragments or host case it arrived with."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

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


def canonicalize(url: str) -> str:
    """A canonical form of an http(s) URL; other strings are returned stripped."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return url
    host = parts.hostname.lower().rstrip(".")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port and not (scheme == "http" and port == 80 or scheme == "https" and port == 443):
        host = f"{host}:{port}"
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not k.lower().startswith(_TRACKING_PREFIXES) and k.lower() not in _TRACKING_PARAMS
        ]
    )
    # Percent-encode what a URL may not contain raw (spaces, non-ASCII), keeping escapes.
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=~")
    return urlunsplit((scheme, host, path, query, ""))


def host_of(url: str) -> str:
    """The host name of a URL (no port), lower-cased; '' when there is none."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""
