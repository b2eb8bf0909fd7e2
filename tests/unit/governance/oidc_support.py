"""A local identity provider for tests: an RSA key pair, its JWKS file, signed tokens."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

ISSUER = "https://idp.example.test/realms/falaj"
AUDIENCE = "falaj-api"


class LocalIdP:
    def __init__(self, folder: Path, kid: str = "k1") -> None:
        import jwt
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        public.update({"kid": kid, "use": "sig", "alg": "RS256"})
        self.jwks_path = folder / "jwks.json"
        self.jwks_path.write_text(json.dumps({"keys": [public]}))

    def token(self, *, kid: str | None = None, key: Any = None, **overrides: Any) -> str:
        import jwt

        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "u-123",
            "preferred_username": "olivia",
            "groups": ["ml-team"],
            "iat": now,
            "exp": now + 600,
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(
            claims, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid}
        )
