"""The local test PKI's services on 127.0.0.1: OCSP responder, CRL, CA certificate and an RFC 3161 TSA.

They answer for the local root (``chalicelib/adapters/documents/pki.py``), from the files in the PKI folder:
revoking a certificate there (``revoke_certificate``) changes the next OCSP answer and CRL. The time stamps are
made by pyHanko's own test time-stamper with the TSA certificate the root issued.

    python -m infrastructure.local.pki_services [--port 8003]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from chalicelib.adapters.documents.pki import LocalPki, ensure_local_pki, read_revoked  # noqa: E402

ANSWER_VALIDITY = dt.timedelta(hours=1)  # nextUpdate of OCSP answers and CRLs


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def crl(pki: LocalPki) -> bytes:
    now = _now()
    builder = (x509.CertificateRevocationListBuilder().issuer_name(pki.ca_certificate.subject)
               .last_update(now - dt.timedelta(minutes=1)).next_update(now + ANSWER_VALIDITY)
               .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(pki.ca_key.public_key()),
                              critical=False))
    for serial, at in read_revoked(pki.directory).items():
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(at).build())
    return builder.sign(pki.ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def ocsp_answer(pki: LocalPki, body: bytes) -> bytes:
    try:
        request = ocsp.load_der_ocsp_request(body)
    except ValueError:
        return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST).public_bytes(
            serialization.Encoding.DER)
    if request.issuer_key_hash != _key_hash(pki.ca_certificate, request.hash_algorithm):
        return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED).public_bytes(
            serialization.Encoding.DER)
    now = _now()
    revoked = read_revoked(pki.directory)
    at = revoked.get(request.serial_number)
    # The responder answers by serial number: the certificate itself is not needed, only its issuer.
    builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
        issuer_name_hash=request.issuer_name_hash, issuer_key_hash=request.issuer_key_hash,
        serial_number=request.serial_number, algorithm=request.hash_algorithm,
        cert_status=ocsp.OCSPCertStatus.REVOKED if at else ocsp.OCSPCertStatus.GOOD,
        this_update=now - dt.timedelta(minutes=1), next_update=now + ANSWER_VALIDITY,
        revocation_time=at, revocation_reason=x509.ReasonFlags.key_compromise if at else None,
    ).responder_id(ocsp.OCSPResponderEncoding.HASH, pki.ocsp_certificate).certificates([pki.ocsp_certificate])
    nonce = next((e.value for e in request.extensions if isinstance(e.value, x509.OCSPNonce)), None)
    if nonce is not None:
        builder = builder.add_extension(nonce, critical=False)
    return builder.sign(pki.ocsp_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def _key_hash(certificate: x509.Certificate, algorithm: hashes.HashAlgorithm) -> bytes:
    from asn1crypto import keys

    spki = keys.PublicKeyInfo.load(certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))
    digest = hashes.Hash(algorithm)
    digest.update(spki["public_key"].contents[1:])  # the BIT STRING's value without its unused-bits byte
    return digest.finalize()


def _stamper(pki: LocalPki) -> Any:
    """pyHanko's test time-stamper with the TSA certificate the root issued, signing with a key loaded once
    (pyHanko's loads and validates the RSA key for every token: 45 ms of a 50 ms answer)."""
    from asn1crypto import cms, core
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from pyhanko.sign import general
    from pyhanko.sign.general import get_pyca_cryptography_hash, simple_cms_attribute
    from pyhanko.sign.timestamps import DummyTimeStamper

    class TimeStamper(DummyTimeStamper):
        def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str, dt: Any) -> tuple[bytes, Any]:
            digest = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
            digest.update(tst_info_data)
            signed_attrs = cms.CMSAttributes([
                simple_cms_attribute("content_type", "tst_info"),
                simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
                simple_cms_attribute("signing_certificate", general.as_signing_certificate(self.tsa_cert)),
                simple_cms_attribute("message_digest", digest.finalize()),
            ])
            signature = pki.tsa_key.sign(signed_attrs.dump(), PKCS1v15(),
                                         get_pyca_cryptography_hash(md_algorithm.upper()))
            return signature, signed_attrs

    der_key = pki.tsa_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    return TimeStamper(
        tsa_cert=asn1_x509.Certificate.load(pki.tsa_certificate.public_bytes(serialization.Encoding.DER)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(der_key))


class _TimeStamper:
    def __init__(self, pki: LocalPki) -> None:
        self._stamper = _stamper(pki)
        self._lock = threading.Lock()

    def answer(self, body: bytes) -> bytes:
        request = tsp.TimeStampReq.load(body)
        with self._lock:
            response = self._stamper.request_tsa_response(request)
        if asyncio.iscoroutine(response):  # pyHanko versions differ on whether this is async
            response = asyncio.run(response)
        return bytes(response.dump())


class PkiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, pki: LocalPki) -> None:
        self.pki = pki
        self.stamper = _TimeStamper(pki)
        self.requests_served: dict[str, int] = {"ocsp": 0, "crl": 0, "tsa": 0, "ca": 0}
        super().__init__(("127.0.0.1", port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: PkiServer
    # Headers and body leave in one write: separate small writes meet the client's delayed ACK (40 ms each).
    wbufsize = 65536

    def setup(self) -> None:
        super().setup()
        # Acknowledge at once: clients that send the headers and the body in two writes otherwise wait for
        # our delayed ACK (Nagle's algorithm), 40 ms a request.
        if hasattr(socket, "TCP_QUICKACK"):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        pki = self.server.pki
        if self.path == "/crl/ca.crl":
            self.server.requests_served["crl"] += 1
            self._send(200, crl(pki), "application/pkix-crl")
        elif self.path == "/certs/ca.cer":
            self.server.requests_served["ca"] += 1
            self._send(200, pki.ca_certificate.public_bytes(serialization.Encoding.DER), "application/pkix-cert")
        else:
            self._send(404, b"not found", "text/plain")

    def do_POST(self) -> None:  # noqa: N802
        if hasattr(socket, "TCP_QUICKACK"):  # the kernel clears it after each receive
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        body = self.rfile.read(min(int(self.headers.get("Content-Length") or 0), 65536))
        try:
            if self.path == "/ocsp":
                self.server.requests_served["ocsp"] += 1
                self._send(200, ocsp_answer(self.server.pki, body), "application/ocsp-response")
            elif self.path == "/tsa":
                self.server.requests_served["tsa"] += 1
                self._send(200, self.server.stamper.answer(body), "application/timestamp-reply")
            else:
                self._send(404, b"not found", "text/plain")
        except ValueError:
            self._send(400, b"malformed request", "text/plain")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's naming
        pass


def serve(port: int, pki: LocalPki) -> PkiServer:
    """Start serving in a daemon thread; ``shutdown()`` stops it."""
    server = PkiServer(port, pki)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> int:
    from chalicelib.settings import load_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8003)
    args = parser.parse_args()
    pki = ensure_local_pki(load_settings().pki_dir, f"http://127.0.0.1:{args.port}")
    server = PkiServer(args.port, pki)
    print(f"local PKI services on http://127.0.0.1:{args.port} (OCSP /ocsp, CRL /crl/ca.crl, TSA /tsa)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
