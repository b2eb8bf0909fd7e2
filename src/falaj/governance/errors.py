"""Errors of the trust features: a broken audit chain or a model signature that does not verify.

Both are integrity failures; the CLI exits with 8 for them (``falaj audit verify``,
``falaj models verify``), the exit code the interface promises to scripts and auditors.
"""

from __future__ import annotations

from falaj.errors import IntegrityError, PolicyViolationError

__all__ = ["ResidencyViolationError", "SignatureError", "TamperedError"]


class TamperedError(IntegrityError):
    """The audit chain does not verify: a record was edited, deleted, inserted or reordered,
    or the tail was cut off after an exported checkpoint."""

    exit_code = 8


class SignatureError(IntegrityError):
    """A model version is unsigned, signed by an untrusted key, or its files changed."""

    exit_code = 8


class ResidencyViolationError(PolicyViolationError):
    """Governed data would be placed outside the regions its classification allows."""
