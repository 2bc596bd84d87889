"""Fixtures for the document unit tests: a root, QR seal keys certified by it, sample content; no files or tools."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

# The project root, so that `chalicelib` imports however pytest is started.
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from chalicelib.adapters.documents import pki as local_pki  # noqa: E402
from chalicelib.adapters.documents.pki import key_id, public_jwk  # noqa: E402
from chalicelib.adapters.documents.seal import LocalQrSealer, local_es256_signer  # noqa: E402
from chalicelib.domain.documents import ISSUER_INPE, ISSUER_JUDICIARY  # noqa: E402

ORIGIN = "https://verifica.inpe.gob.pe"
# The sample documents are sealed on 22/11/2026: their keys are certified from a month before.
CERTIFIED_FROM = datetime(2026, 10, 22, tzinfo=UTC)


@contextmanager
def _certifying_at(moment: datetime) -> Iterator[None]:
    original = local_pki._now
    local_pki._now = lambda: moment  # type: ignore[assignment]
    try:
        yield
    finally:
        local_pki._now = original  # type: ignore[assignment]


@dataclass(frozen=True)
class Root:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    def certify(self, key: ec.EllipticCurvePrivateKey, issuer: str = ISSUER_INPE) -> x509.Certificate:
        with _certifying_at(CERTIFIED_FROM):
            return local_pki._qr_certificate(key, issuer, self.key, self.certificate, "http://127.0.0.1:1")


def make_root() -> Root:
    key = ec.generate_private_key(ec.SECP256R1())
    with _certifying_at(CERTIFIED_FROM - timedelta(days=1)):
        return Root(key, local_pki._make_ca(key))


@pytest.fixture(scope="session")
def root() -> Root:
    return make_root()


@pytest.fixture(scope="session")
def qr_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="session")
def judiciary_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="session")
def jwks(root: Root, qr_key: ec.EllipticCurvePrivateKey, judiciary_key: ec.EllipticCurvePrivateKey
         ) -> dict[str, object]:
    return {"keys": [
        public_jwk(qr_key.public_key(), (root.certify(qr_key),), ISSUER_INPE),
        public_jwk(judiciary_key.public_key(), (root.certify(judiciary_key, ISSUER_JUDICIARY),), ISSUER_JUDICIARY),
    ]}


@pytest.fixture(scope="session")
def sealer(qr_key: ec.EllipticCurvePrivateKey) -> LocalQrSealer:
    return LocalQrSealer(key_id(qr_key.public_key()), local_es256_signer(qr_key))


@pytest.fixture(scope="session")
def judiciary_sealer(judiciary_key: ec.EllipticCurvePrivateKey) -> LocalQrSealer:
    return LocalQrSealer(key_id(judiciary_key.public_key()), local_es256_signer(judiciary_key))
