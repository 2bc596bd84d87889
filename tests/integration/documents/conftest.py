"""Fixtures for the document integration tests: a real local PKI on disk and produced PDFs."""

from __future__ import annotations

import datetime as dt
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# The project root, so that `chalicelib` imports however pytest is started.
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from chalicelib.adapters.documents import ensure_local_pki, local_pipeline  # noqa: E402
from chalicelib.adapters.documents.pipeline import DocumentPipeline  # noqa: E402
from chalicelib.adapters.documents.pki import LocalPki  # noqa: E402


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> LocalPki:
    return ensure_local_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def pipeline(pki: LocalPki) -> DocumentPipeline:
    return local_pipeline(pki)


def _tsa_certificate() -> tuple[asn1_x509.Certificate, asn1_keys.PrivateKeyInfo]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # pyHanko's test TSA is RSA-only
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(key, hashes.SHA256())
    )
    der_key = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return (
        asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        asn1_keys.PrivateKeyInfo.load(der_key),
    )


@pytest.fixture(scope="session")
def timestamp_url() -> Iterator[str]:
    """An RFC 3161 time-stamping server on localhost, answered by pyHanko's test TSA."""
    from pyhanko.sign.timestamps import DummyTimeStamper

    cert, key = _tsa_certificate()
    stamper = DummyTimeStamper(tsa_cert=cert, tsa_key=key)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            response = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(response)))
            self.end_headers()
            self.wfile.write(response)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/tsa"
    server.shutdown()
    server.server_close()
