"""Text that every metadata backend can store: no NUL character, no lone surrogate.

PostgreSQL refuses NUL in text columns and no database driver can encode a lone surrogate
(``'\\udcff'``, what Python makes of undecodable bytes). Checked where the text enters, so a bad
value is refused at the call with a clear error instead of failing a write later.
"""

from __future__ import annotations

from falaj.errors import InvalidInputError

__all__ = ["check_storable"]


def check_storable(field: str, text: str) -> str:
    """Return ``text`` if every backend can store it; else raise naming the field and position."""
    if "\x00" in text:
        raise InvalidInputError(
            f"{field} contains a NUL character (at position {text.index(chr(0))}): "
            "text must not contain NUL"
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInputError(
            f"{field} contains an unencodable character {text[exc.start]!r} at position "
            f"{exc.start} (a lone surrogate, usually from mis-decoded bytes): expected valid "
            "Unicode text"
        ) from None
    return text
