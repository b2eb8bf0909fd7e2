"""What happens to personal data before a prediction is logged.

A :class:`MaskingPolicy` maps input columns to an action: ``drop`` (the column is not written at
all) or ``hash`` (each value is replaced by a keyed SHA-256 digest, 16 hex characters: equal
values stay equal, so joins and counts still work, but the value cannot be read back or
guessed from a list of candidates without the workspace's key). The policy of a model version
is, by default, ``default_action`` for every column its training dataset classifies ``pii``
(found through lineage), plus whatever the caller states explicitly.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from falaj.errors import InvalidInputError

__all__ = ["ACTIONS", "MaskingPolicy"]

ACTIONS = ("drop", "hash")


@dataclass(frozen=True)
class MaskingPolicy:
    """Column -> action; ``key`` keys the hash (the workspace id by default)."""

    actions: dict[str, str] = field(default_factory=dict)
    key: bytes = b""

    def __post_init__(self) -> None:
        for column, action in self.actions.items():
            if action not in ACTIONS:
                raise InvalidInputError(
                    f"masking action {action!r} for column {column!r} is invalid: expected one "
                    f"of {', '.join(ACTIONS)}"
                )

    @classmethod
    def for_pii(
        cls,
        pii_columns: Iterable[str],
        *,
        default_action: str = "hash",
        explicit: Mapping[str, str] | None = None,
        key: bytes = b"",
    ) -> MaskingPolicy:
        actions = {c: default_action for c in pii_columns}
        actions.update(explicit or {})
        return cls(actions, key)

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A copy of ``frame`` with every listed column dropped or hashed."""
        present = [c for c in self.actions if c in frame.columns]
        if not present:
            return frame
        out = frame.drop(columns=[c for c in present if self.actions[c] == "drop"])
        for column in present:
            if self.actions[column] == "hash":
                out[column] = [self._hash(v) for v in frame[column].tolist()]
        return out

    def _hash(self, value: object) -> str | None:
        if value is None or (isinstance(value, float) and value != value):
            return None
        digest = hmac.new(self.key, str(value).encode(), hashlib.sha256).hexdigest()
        return digest[:16]
