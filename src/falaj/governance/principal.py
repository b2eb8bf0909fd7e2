"""Who is acting: every mutating call carries a :class:`Principal`."""

from __future__ import annotations

import getpass
import os
import re
from dataclasses import dataclass, field
from typing import Literal

from falaj.errors import InvalidInputError

__all__ = ["Principal"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+\-]{0,199}$")
PrincipalKind = Literal["user", "service"]


@dataclass(frozen=True)
class Principal:
    """An authenticated identity: a person (``user``) or a machine (``service``).

    Embedded mode uses the local OS user (:meth:`local`); server mode builds it from a token.
    """

    name: str
    kind: PrincipalKind = "user"
    roles: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise InvalidInputError(
                f"principal name {self.name!r} is invalid: expected 1-200 characters of letters, "
                "digits, '.', '_', '@', '+' or '-', starting with a letter or digit"
            )
        if self.kind not in ("user", "service"):
            raise InvalidInputError(
                f"principal kind {self.kind!r} is invalid: expected 'user' or 'service'"
            )
        object.__setattr__(self, "roles", frozenset(self.roles))

    @classmethod
    def local(cls) -> Principal:
        """The operating-system user running this process."""
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            name = os.environ.get("USER") or f"uid-{os.getuid()}"
        cleaned = re.sub(r"[^A-Za-z0-9._@+\-]", "_", name) or "unknown"
        return cls(name=cleaned, kind="user")

    def __str__(self) -> str:
        return self.name if self.kind == "user" else f"service:{self.name}"
