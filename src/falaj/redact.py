"""Hide secrets in text meant for people: error messages, ``falaj info``, logs, reprs.

:func:`redact` masks the password of every ``scheme://user:password@host`` URL in a text and
the value of ``password=``/``secret=``/``token=``-style query or key-value parameters. It is
applied where text leaves Falaj for a person (the CLI's error line, ``falaj info``, the repr of
settings), so a secret never needs to be remembered at each place that formats a URL.
"""

from __future__ import annotations

import re

__all__ = ["MASK", "has_secret", "redact"]

MASK = "***"
_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")

_USERINFO = re.compile(
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^:/?#@\s'\"]*):(?P<secret>[^@\s'\"]*)@"
)
_PARAM = re.compile(
    r"(?P<head>\b(?:password|passwd|pwd|secret|token|api_key|apikey|access_key|secret_key|"
    r"aws_secret_access_key|sas_token|sig)=)(?P<secret>[^&\s'\";,]+)",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """``text`` with URL passwords and secret parameters replaced by ``***``."""
    if not text:
        return text
    masked = _USERINFO.sub(_mask_userinfo, text)
    return _PARAM.sub(lambda m: m["head"] + MASK, masked)


def _mask_userinfo(match: re.Match[str]) -> str:
    secret = match["secret"]
    if not secret or _REFERENCE.fullmatch(secret):  # ${ENV_VAR} names a secret, it is not one
        return match[0]
    return f"{match['head']}:{MASK}@"


def has_secret(text: str) -> bool:
    """True when ``text`` holds something :func:`redact` would hide."""
    return redact(text) != text
