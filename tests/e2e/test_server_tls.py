"""TLS and mTLS on a real server: certificates generated here with ``cryptography``."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path

import httpx
import pytest

from tests.e2e.server_support import free_port, start_server

pytestmark = pytest.mark.slow


def _key_and_cert(
    folder: Path, name: str, *, issuer: tuple[object, object] | None = None, server: bool = False
) -> tuple[Path, Path, object, object]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_key, issuer_cert = issuer if issuer else (key, None)
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert else subject)  # type: ignore[attr-defined]
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    cert = builder.sign(issuer_key, hashes.SHA256())  # type: ignore[arg-type]
    key_path, cert_path = folder / f"{name}.key", folder / f"{name}.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path, key, cert


def test_tls_and_client_certificates(tmp_path: Path) -> None:
    ca_key_path, ca_path, ca_key, ca_cert = _key_and_cert(tmp_path, "ca")
    key, cert, _, _ = _key_and_cert(tmp_path, "server", issuer=(ca_key, ca_cert), server=True)
    ckey, ccert, _, _ = _key_and_cert(tmp_path, "client", issuer=(ca_key, ca_cert))
    assert ca_key_path.exists() and free_port() > 0
    served = start_server(
        tmp_path / "ws",
        "--tls-cert",
        str(cert),
        "--tls-key",
        str(key),
        "--tls-client-ca",
        str(ca_path),
        scheme="https",
        client_cert=(str(ccert), str(ckey)),
        verify=str(ca_path),
    )
    try:
        url = served.url
        assert url.startswith("https://")
        context = ssl.create_default_context(cafile=str(ca_path))
        context.load_cert_chain(str(ccert), str(ckey))
        with httpx.Client(verify=context, timeout=30) as mutual:
            headers = {"Authorization": f"Bearer {served.admin_token}"}
            assert mutual.get(f"{url}/api/v1/experiments", headers=headers).status_code == 200
        anonymous_tls = ssl.create_default_context(cafile=str(ca_path))
        with (
            httpx.Client(verify=anonymous_tls, timeout=30) as no_cert,
            pytest.raises(httpx.HTTPError),
        ):
            no_cert.get(f"{url}/api/v1/health")  # the handshake needs a client certificate
        with httpx.Client(timeout=30) as plain, pytest.raises(httpx.HTTPError):
            plain.get(f"http://{url.removeprefix('https://')}/api/v1/health")
    finally:
        served.stop()
