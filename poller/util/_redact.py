"""Keep credentials out of URLs, errors and reprs.

Converters reached over a network are sometimes named with a user and password
(``rfc2217://user:secret@host:port``) or a ``password=`` query parameter. Every
string a port or a sink shows (its ``url``, the reason in its errors) goes through here.
"""

from __future__ import annotations

import urllib.parse
from typing import Final

__all__ = ["network_target", "redact_url", "scrub", "secrets_of"]

_MASK: Final = "***"
_SECRET_KEYS: Final = frozenset({"password", "passwd", "pass", "pw", "secret", "token", "key"})


def _split(url: str) -> urllib.parse.SplitResult | None:
    if "://" not in url:
        return None  # a device path carries no credentials
    return urllib.parse.urlsplit(url)


def secrets_of(url: str) -> tuple[str, ...]:
    """The credential strings in ``url``, longest first, to scrub from messages."""
    parts = _split(url)
    if parts is None:
        return ()
    found: list[str] = []
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at and userinfo:
        found.append(userinfo)
        # The password alone too; a user name is no secret and may be a common word.
        found.append(userinfo.partition(":")[2])
    for key, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
        if key.lower() in _SECRET_KEYS and value:
            found.append(value)
    found.extend(urllib.parse.unquote(item) for item in list(found))
    return tuple(sorted({item for item in found if item}, key=len, reverse=True))


def redact_url(url: str) -> str:
    """``url`` with any user info and secret query values replaced by ``***``."""
    parts = _split(url)
    if parts is None:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        netloc = _MASK + "@" + netloc.rpartition("@")[2]
    query = "&".join(
        f"{key}={_MASK}" if key.lower() in _SECRET_KEYS else f"{key}={value}"
        for key, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    )
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every secret replaced, for messages a library built from the URL."""
    for secret in secrets:
        text = text.replace(secret, _MASK)
    return text


def network_target(url: str) -> str:
    """``scheme://host:port`` of ``url``: what a library may see, with no credentials.

    Raises ``ValueError`` when the host or port is missing or the port is no number.
    """
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname, parts.port  # .port raises ValueError when malformed
    if not host or port is None:
        raise ValueError("expected scheme://host:port")
    shown = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{shown}:{port}"
