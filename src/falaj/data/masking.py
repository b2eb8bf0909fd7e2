"""Keeping credentials out of logs, errors and stored metadata.

Database URLs lose their password (SQLAlchemy's ``hide_password``); file and object-store URIs
lose their user-info and any query parameter that looks like a secret (presigned signatures,
tokens). :func:`scrub` removes known secrets from free text such as a driver's error message.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["mask_sql_url", "mask_uri", "scrub", "secrets_of"]

_SECRET_KEY = re.compile(
    r"(pass(word)?|pwd|secret|token|signature|sig|credential|key|auth)", re.IGNORECASE
)
_MASK = "***"


def mask_sql_url(url: str) -> str:
    """A SQLAlchemy URL with the password and secret-looking query parameters hidden."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return "<unparseable database URL>"
    query = {
        key: (_MASK if _SECRET_KEY.search(key) else value) for key, value in parsed.query.items()
    }
    return parsed.set(query=query).render_as_string(hide_password=True)


def mask_uri(uri: str) -> str:
    """A file or object-store URI without user-info or secret-looking query parameters."""
    if "://" not in uri:
        return uri
    parts = urlsplit(uri)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = urlencode(
        [(k, _MASK if _SECRET_KEY.search(k) else v) for k, v in parse_qsl(parts.query)],
        safe="*",
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def secrets_of(url: str) -> list[str]:
    """The secret parts of ``url`` (password, user-info, secret query values), for :func:`scrub`."""
    found: list[str] = []
    if "://" not in url:
        return found
    parts = urlsplit(url)
    if "@" in parts.netloc:
        userinfo = parts.netloc.rsplit("@", 1)[0]
        _, _, password = userinfo.partition(":")
        found.extend(p for p in (password, userinfo) if len(p) >= 3 and password)
    found.extend(v for k, v in parse_qsl(parts.query) if _SECRET_KEY.search(k) and len(v) >= 3)
    return found


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` with every occurrence of each secret replaced by ``***``."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, _MASK)
    return text
