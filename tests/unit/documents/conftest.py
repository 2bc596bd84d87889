"""Fixtures for the document unit tests: keys and sample content, no files or tools."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

# The project root, so that `chalicelib` imports however pytest is started.
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from chalicelib.adapters.documents.pki import key_id, public_jwk  # noqa: E402
from chalicelib.adapters.documents.seal import LocalQrSealer, local_es256_signer  # noqa: E402


@pytest.fixture(scope="session")
def qr_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="session")
def jwks(qr_key: ec.EllipticCurvePrivateKey) -> dict[str, object]:
    return {"keys": [public_jwk(qr_key.public_key())]}


@pytest.fixture(scope="session")
def sealer(qr_key: ec.EllipticCurvePrivateKey) -> LocalQrSealer:
    return LocalQrSealer(key_id(qr_key.public_key()), local_es256_signer(qr_key))
