from __future__ import annotations

import pytest

from falaj.errors import InvalidInputError
from falaj.governance import Principal


def test_local_principal_is_a_valid_user() -> None:
    p = Principal.local()
    assert p.kind == "user"
    assert p.name


@pytest.mark.parametrize("name", ["", " alice", "a" * 201, "al ice", "-x"])
def test_invalid_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidInputError, match="principal name"):
        Principal(name)
