"""`make signing-cert`: the certificate chain for the KMS document-signing key, stored where the functions read it.

Three ways, none of which takes the private key out of KMS:

  --dev            a throw-away CA for this stage certifies the KMS key (non-production stages: the CA's key is
                   discarded at once, so verifiers trust it only through the published /.well-known/ca.pem);
  --csr FILE       a certificate signing request, signed by KMS, to send to the real certification authority;
  --import FILE    the PEM chain the authority returned (signer first), checked against the KMS key and stored.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ORGANIZATION = "Instituto Nacional Penitenciario"
SIGNER_NAME = "Instituto Nacional Penitenciario - Firma de Documentos"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "PE"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=not ca, content_commitment=not ca, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                         encipher_only=False, decipher_only=False)


def kms_public_key(kms: Any, key_id: str) -> ec.EllipticCurvePublicKey:
    key = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise SystemExit("the signing key is not an elliptic-curve key")
    return key


def development_chain(public_key: ec.EllipticCurvePublicKey, stage: str, days: int = 365) -> str:
    """PEM chain: a certificate for the KMS key from a CA made for this purpose, then that CA."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    ca_name = _name(f"Antecedentes {stage} Development Root CA")
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=days + 30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(_key_usage(ca=True), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    signer = (x509.CertificateBuilder().subject_name(_name(f"{SIGNER_NAME} ({stage})")).issuer_name(ca_name)
              .public_key(public_key).serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(_key_usage(ca=False), critical=True)
              .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (signer, ca)).decode("ascii")


def kms_csr(kms: Any, key_id: str, common_name: str = SIGNER_NAME) -> bytes:
    """A PEM CSR for the KMS key, its signature made by KMS (cryptography cannot sign with a remote key)."""
    from asn1crypto import csr, keys
    from asn1crypto import x509 as asn1_x509

    spki = kms.get_public_key(KeyId=key_id)["PublicKey"]
    info = csr.CertificationRequestInfo({
        "version": "v1",
        "subject": asn1_x509.Name.build({"country_name": "PE", "organization_name": ORGANIZATION,
                                         "common_name": common_name}),
        "subject_pk_info": keys.PublicKeyInfo.load(spki),
        "attributes": [],
    })
    signature = kms.sign(KeyId=key_id, Message=info.dump(), MessageType="RAW",
                         SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    request = csr.CertificationRequest({"certification_request_info": info,
                                        "signature_algorithm": {"algorithm": "sha256_ecdsa"},
                                        "signature": signature})
    der = request.dump()
    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode("ascii"), 64))
    return f"-----BEGIN CERTIFICATE REQUEST-----\n{body}\n-----END CERTIFICATE REQUEST-----\n".encode()


def check_chain(pem: str, public_key: ec.EllipticCurvePublicKey) -> list[x509.Certificate]:
    """The chain must start with a certificate for the KMS key and each certificate must be signed by the next."""
    chain = x509.load_pem_x509_certificates(pem.encode("ascii"))
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if chain[0].public_key().public_bytes(der, spki) != public_key.public_bytes(der, spki):
        raise SystemExit("the first certificate of the chain does not certify the KMS signing key")
    for child, parent in zip(chain, chain[1:], strict=False):
        child.verify_directly_issued_by(parent)
    return chain


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default=os.environ.get("STAGE") or "dev")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--dev", action="store_true")
    mode.add_argument("--csr", type=Path)
    mode.add_argument("--import", dest="chain", type=Path)
    arguments = parser.parse_args(argv)
    import boto3

    session = boto3.session.Session()
    stack = f"antecedentes-{arguments.stage}"
    described = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    kms, ssm = session.client("kms"), session.client("ssm")
    key_id, parameter = outputs["SigningKeyArn"], outputs["SigningCertChainParameter"]
    if arguments.csr:
        arguments.csr.write_bytes(kms_csr(kms, key_id))
        print(f"wrote {arguments.csr}: send it to the certification authority, then --import its chain")
        return 0
    public_key = kms_public_key(kms, key_id)
    if arguments.dev:
        if arguments.stage in ("prod", "production"):
            raise SystemExit("production documents need a certificate from the real authority: use --csr")
        pem = development_chain(public_key, arguments.stage)
    else:
        pem = arguments.chain.read_text()
    check_chain(pem, public_key)
    ssm.put_parameter(Name=parameter, Value=pem, Type="String", Overwrite=True)
    print(f"stored the signing certificate chain in {parameter}; new function containers will use it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
