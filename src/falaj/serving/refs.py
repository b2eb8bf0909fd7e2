"""Model references as users type them: ``NAME@ALIAS``, ``NAME/VERSION`` or ``NAME`` (latest)."""

from __future__ import annotations

from falaj.errors import InvalidInputError

__all__ = ["parse_model_ref"]


def parse_model_ref(text: str) -> tuple[str, int | str]:
    """``credit@champion`` → ("credit", "champion"); ``credit/3`` → ("credit", 3)."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError(
            f"model reference {text!r} is invalid: expected NAME@ALIAS or NAME/VERSION"
        )
    value = text.strip()
    if "@" in value:
        name, _, alias = value.partition("@")
        if name and alias:
            return name, alias
    elif "/" in value:
        name, _, version = value.rpartition("/")
        if name and version.isdigit() and int(version) > 0:
            return name, int(version)
    elif value:
        return value, "latest"
    raise InvalidInputError(
        f"model reference {text!r} is invalid: expected NAME@ALIAS (credit@champion) or "
        "NAME/VERSION (credit/3)"
    )
