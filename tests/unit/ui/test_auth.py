"""The local authenticator (falaj ui) and the token table."""

from __future__ import annotations

import pytest

from falaj.errors import PermissionDeniedError
from falaj.governance.principal import Principal
from falaj.ui.auth import LocalTokenAuthenticator, TokenTable


def test_local_token_proves_the_owner_and_nothing_else_does() -> None:
    owner = Principal("ops")
    auth = LocalTokenAuthenticator(owner)
    assert len(auth.token) >= 32
    assert auth.authenticate(auth.token) == owner
    assert auth.authenticate(f"  {auth.token}\n") == owner
    with pytest.raises(PermissionDeniedError, match="not valid"):
        auth.authenticate(auth.token[:-1])
    with pytest.raises(PermissionDeniedError, match="empty"):
        auth.authenticate("   ")


def test_each_start_gets_a_new_token() -> None:
    assert LocalTokenAuthenticator().token != LocalTokenAuthenticator().token


def test_token_table_maps_each_token_to_its_principal() -> None:
    bob, vera = Principal("bob", roles=frozenset({"approver"})), Principal("vera")
    table = TokenTable({"token-bob-123": bob, "token-vera-123": vera})
    assert table.authenticate("token-bob-123") == bob
    assert table.authenticate("token-vera-123") == vera
    with pytest.raises(PermissionDeniedError):
        table.authenticate("token-bob-12")
    with pytest.raises(PermissionDeniedError, match="characters"):
        table.authenticate("x" * 5000)
