"""Text that every backend can store: no NUL character, no lone surrogate.

PostgreSQL refuses ``\\x00`` in text (a raw ``DataError``), and a lone surrogate (``'\\udcff'``,
what ``surrogateescape`` decoding leaves behind) cannot be encoded as UTF-8 by any driver. A
free-text field (a description, a reason) is checked at the call with :func:`check_text`, so the
mistake is a clear :class:`~falaj.errors.InvalidInputError` that changes nothing.
"""

from __future__ import annotations

from falaj.errors import InvalidInputError, preview

__all__ = ["check_text"]


def check_text(field: str, value: object, *, optional: bool = True) -> None:
    """Refuse ``value`` unless it is a string every backend stores (or None when optional)."""
    if value is None and optional:
        return
    if not isinstance(value, str):
        expected = "a string or None" if optional else "a string"
        raise InvalidInputError(f"{field} {preview(value)} is invalid: expected {expected}")
    nul = value.find("\x00")
    if nul >= 0:
        raise InvalidInputError(
            f"{field} {preview(value)} is invalid: it holds a NUL character at position {nul}; "
            "expected text without NUL (databases cannot store it)"
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInputError(
            f"{field} {preview(value)} is invalid: it holds an unpaired surrogate at position "
            f"{exc.start}; expected valid Unicode text"
        ) from None
