"""OIDC bearer tokens verified against a JWKS file from a locally generated RSA key pair."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from falaj.errors import ConfigError
from falaj.governance.identity import AuthenticationError, OIDCConfig, OIDCVerifier
from tests.unit.governance.oidc_support import AUDIENCE, ISSUER, LocalIdP


@pytest.fixture
def idp(tmp_path: Path) -> LocalIdP:
    return LocalIdP(tmp_path)


def _verifier(idp: LocalIdP, clock: object = time.time) -> OIDCVerifier:
    config = OIDCConfig(
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks=str(idp.jwks_path),
        group_roles={"ml-team": ["data-scientist"], "risk": ["approver"]},
    )
    return OIDCVerifier(config, clock=clock)  # type: ignore[arg-type]


def test_valid_token_maps_groups_to_roles(idp: LocalIdP) -> None:
    principal = _verifier(idp).verify(idp.token(groups=["ml-team", "risk", "unmapped"]))
    assert principal.name == "olivia"
    assert principal.roles == frozenset({"data-scientist", "approver"})


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": "someone-else"}, "wrong audience"),
        ({"iss": "https://evil.example.test"}, "wrong issuer"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"exp": None}, "do not verify"),
    ],
)
def test_invalid_claims_are_refused(idp: LocalIdP, claims: dict[str, object], reason: str) -> None:
    with pytest.raises(AuthenticationError, match=reason):
        _verifier(idp).verify(idp.token(**claims))


def test_unknown_key_id_is_refused(idp: LocalIdP) -> None:
    with pytest.raises(AuthenticationError, match="unknown key"):
        _verifier(idp).verify(idp.token(kid="other"))


def test_a_token_signed_by_another_key_is_refused(idp: LocalIdP, tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    other = LocalIdP(tmp_path / "other", kid="k1")  # same kid, different key
    with pytest.raises(AuthenticationError, match="do not verify"):
        _verifier(idp).verify(idp.token(key=other.key))


def test_hmac_with_the_public_key_is_refused(idp: LocalIdP) -> None:
    import jwt

    forged = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 60},
        "a-shared-secret-that-is-long-enough-for-hs256",
        algorithm="HS256",
        headers={"kid": idp.kid},
    )
    with pytest.raises(AuthenticationError, match="unsupported algorithm"):
        _verifier(idp).verify(forged)


def test_expiry_is_judged_on_the_injected_clock(idp: LocalIdP) -> None:
    token = idp.token(exp=2_000_000_000)
    assert _verifier(idp, clock=lambda: 1_999_999_999.0).verify(token).name == "olivia"
    with pytest.raises(AuthenticationError, match="expired"):
        _verifier(idp, clock=lambda: 2_000_000_031.0).verify(token)  # past the 30 s leeway


def test_group_mapping_to_an_unknown_role_is_a_config_error(idp: LocalIdP) -> None:
    with pytest.raises(ConfigError, match="unknown"):
        OIDCConfig(ISSUER, AUDIENCE, str(idp.jwks_path), group_roles={"x": ["superuser"]})
