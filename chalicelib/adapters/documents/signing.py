"""PAdES signing with pyHanko, on a Signer whose raw signature can come from a local key or a cloud KMS."""

from __future__ import annotations

import asyncio
import atexit
import io
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from typing import Any

from asn1crypto import algos, cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.sign import attributes, signers
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
from pyhanko.sign.general import as_signing_certificate_v2
from pyhanko.sign.timestamps import TimestampRequestError
from pyhanko.sign.timestamps.common_utils import handle_tsp_response
from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper
from pyhanko.stamp import BaseStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from chalicelib.adapters.documents.pki import LocalPki
from chalicelib.domain.documents import ISSUER_INPE, ISSUERS

FIELD_NAME = ISSUERS[ISSUER_INPE].signature_field
SIGNATURE_REASON = "Documento emitido por el Instituto Nacional Penitenciario"
SIGNATURE_LOCATION = "Lima, Perú"
TIMESTAMP_RESERVE = 12_288  # DER bytes for a timestamp token with its TSA chain

_SIGNED_DATA_OID = bytes.fromhex("06092a864886f70d010702")  # id-signedData, 1.2.840.113549.1.7.2


def _der(tag: int, content: bytes) -> bytes:
    """A DER tag-length-value."""
    length = len(content)
    if length < 0x80:
        return bytes((tag, length)) + content
    size = (length.bit_length() + 7) // 8
    return bytes((tag, 0x80 | size)) + length.to_bytes(size, "big") + content


DerSign = Callable[[bytes], bytes]
"""Signs bytes with ECDSA P-256 / SHA-256 and returns the DER signature (what KMS Sign returns
for ``MessageType=RAW``, ``SigningAlgorithm=ECDSA_SHA_256``)."""


def to_asn1_certificate(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


class _FixedValueProvider(attributes.CMSAttributeProvider):
    def __init__(self, attribute_type: str, value: Any) -> None:
        self.attribute_type = attribute_type
        self._value = value

    async def build_attr_value(self, dry_run: bool = False) -> Any:
        return self._value


class PadesSignedAttributes(attributes.SignedAttributeProviderSpec):
    """The signed attributes of a PAdES baseline signature (as pyHanko's CAdES spec with
    ``is_pades=True`` makes them: signing-certificate-v2 and no signing-time), with the
    signing-certificate-v2 value built once.

    Why: asn1crypto re-serialises freshly built nested structures on every ``dump``,
    and that attribute made up most of the 14 ms pyHanko spent per signature; a
    pre-parsed value serialises as plain bytes.
    """

    def __init__(self, signing_cert: asn1_x509.Certificate) -> None:
        self._value = tsp.SigningCertificateV2.load(as_signing_certificate_v2(signing_cert).dump())

    def signed_attr_providers(
        self, data_digest: bytes, digest_algorithm: str
    ) -> Iterable[attributes.CMSAttributeProvider]:
        yield _FixedValueProvider("signing_certificate_v2", self._value)


class CallbackSigner(signers.Signer):
    """A pyHanko :class:`~pyhanko.sign.signers.Signer` for an EC P-256 key that signs through a callable.

    The callable receives the DER of the signed attributes and returns a DER ECDSA
    signature; locally it wraps a loaded key, in the cloud a KMS ``Sign`` call, so
    the key never has to leave KMS. Subclasses may instead override
    :meth:`async_sign_raw` (e.g. with an asynchronous KMS client).
    """

    def __init__(
        self,
        sign: DerSign,
        signing_cert: x509.Certificate,
        chain: Iterable[x509.Certificate] = (),
    ) -> None:
        cert = to_asn1_certificate(signing_cert)
        super().__init__(
            signing_cert=cert,
            cert_registry=SimpleCertificateStore.from_certs([to_asn1_certificate(c) for c in chain]),
            signature_mechanism=algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
            embed_roots=False,  # a verifier trusts its own copy of the root; an embedded one proves nothing
        )
        self.signed_attr_prov_spec = PadesSignedAttributes(cert)
        self._sign = sign

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if dry_run:
            return bytes(72)  # longest DER encoding of a P-256 ECDSA signature
        if digest_algorithm.lower() != "sha256":
            raise ValueError("this signer only signs with SHA-256")
        return self._sign(data)

    async def async_sign_prescribed_attributes(self, *args: Any, **kwargs: Any) -> cms.ContentInfo:
        container = await super().async_sign_prescribed_attributes(*args, **kwargs)
        # Freeze it as bytes: pyHanko dumps the container several times while embedding it. Letting asn1crypto
        # serialise the ContentInfo wrapper itself took up to 35 ms for some signer certificates (it re-encodes
        # the explicitly tagged SignedData); the SignedData dumps at once, and the wrapper is two DER headers.
        signed_data = container["content"].untag().dump()
        return cms.ContentInfo.load(_der(0x30, _SIGNED_DATA_OID + _der(0xA0, signed_data)))

    async def unsigned_attrs(self, digest_algorithm: str, signature: bytes, signed_attrs: cms.CMSAttributes,
                             timestamper: Any = None, dry_run: bool = False) -> cms.CMSAttributes | None:
        """The unsigned attributes (the signature's time stamp) as pyHanko makes them, assembled from DER.

        pyHanko builds them as asn1crypto values around the time-stamp token it parsed from the TSA's answer; placing
        that parsed token in a new attribute, and the attributes in the SignerInfo, copies and re-serialises the
        whole token with its certificates. Built from the token's own bytes, the same DER costs one dump of an
        unchanged value: a B-LT certificate's signing took 22.9 ms of this process's CPU, now 14.5 ms (TSA in its own
        process, 30 documents, on the 2-core machine).
        """
        providers = self._unsigned_attr_providers(digest_algorithm=digest_algorithm, signature=signature,
                                                  signed_attrs=signed_attrs, timestamper=timestamper)
        values: dict[str, list[bytes]] = {}
        for provider in providers:
            value = await provider.build_attr_value(dry_run=dry_run)
            if value is not None:
                values.setdefault(provider.attribute_type, []).append(value.dump())
        if not values:
            return None
        # DER sorts the members of a SET OF by their encodings.
        attributes = sorted(_der(0x30, cms.CMSAttributeType(kind).dump() + _der(0x31, b"".join(sorted(parts))))
                            for kind, parts in values.items())
        return cms.CMSAttributes.load(_der(0x31, b"".join(attributes)))

    def estimated_der_size(self) -> int:
        """Upper bound of the CMS container without timestamp, for ``bytes_reserved``."""
        certs = [self.signing_cert, *self.cert_registry]
        return sum(len(c.dump()) for c in certs if c is not None) + 1024


def local_der_signer(key: ec.EllipticCurvePrivateKey) -> DerSign:
    def sign(data: bytes) -> bytes:
        return key.sign(data, ec.ECDSA(hashes.SHA256()))

    return sign


_THREAD_LOOPS = threading.local()


def _run(coroutine: Coroutine[Any, Any, bytes]) -> bytes:
    """Run a coroutine from sync code, on one event loop per thread that is kept and reused.

    ``asyncio.run`` builds and tears down a loop each time, and ``asyncio.Runner``
    installs a SIGINT handler per call whose bookkeeping formats a task repr:
    either costs a good share of a signature.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        coroutine.close()
        raise RuntimeError("called from a running event loop: await the async_ variant instead")
    loop = getattr(_THREAD_LOOPS, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _THREAD_LOOPS.loop = loop
        atexit.register(loop.close)
    return loop.run_until_complete(coroutine)


class RevocationInfo:
    """The validation context used to embed validation data (certificates, OCSP responses, CRLs), rebuilt
    every few minutes: within that time the responses it fetched are reused for every document, so issuing
    does not cost an OCSP round trip per signature, and a revocation reaches new signatures soon after.

    One context per thread: each thread signs on its own event loop (``_run``), and a context shares its
    in-flight fetches between the coroutines that ask for the same answer — a coroutine of another thread's
    loop awaiting that fetch would wait for ever (two daily reports signed at once on two consumer lanes, right
    after a rebuild, did). A thread's first document after a rebuild fetches its own answers."""

    def __init__(self, trust_roots: Iterable[x509.Certificate], refresh: float = 300.0) -> None:
        self._roots = [to_asn1_certificate(c) for c in trust_roots]
        self._refresh = refresh
        self._local = threading.local()

    def context(self) -> ValidationContext:
        built: float = getattr(self._local, "built", 0.0)
        context: ValidationContext | None = getattr(self._local, "context", None)
        if context is None or time.monotonic() - built > self._refresh:
            # "require": every certificate but the root must come with revocation data, or signing fails
            # (the event is retried) rather than producing a document that cannot be validated later.
            from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend

            context = ValidationContext(trust_roots=self._roots, allow_fetching=True, revocation_mode="require",
                                        fetcher_backend=RequestsFetcherBackend(per_request_timeout=10))
            self._local.context, self._local.built = context, time.monotonic()
        return context


class _NoStamp(BaseStampStyle):
    """The signature block is drawn (and tagged) with the page; its widget keeps the appearance it has."""

    def create_stamp(self, writer: Any, box: Any, text_params: dict[str, Any]) -> None:
        return None


class _ValidatedOncePdfSigner(signers.PdfSigner):
    """pyHanko's signer, validating its own certificate's path once rather than before every signature.

    Before each signature pyHanko validates the signer's certificate against the validation context (path building
    and the revocation check of each link). The answer cannot change while that context lives: this signer is
    built per context (PadesPdfSigner._pdf_signer) and the context keeps the OCSP answers the first validation
    fetched, which the document security store then embeds as before. A revoked signing certificate still stops
    signing when the context is rebuilt (every few minutes), as it did. Measured with bench/documents.py on the
    2-core machine, side by side: a B-LT certificate 37.9 -> 22.3 ms, of which validation and the DSS update
    (lt_embedding_ms) 20.7 -> 7.6 ms.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._signer_path: Any = None

    def init_signing_session(self, *args: Any, **kwargs: Any) -> Any:
        session = super().init_signing_session(*args, **kwargs)
        validate = session._perform_presign_signer_validation

        async def validated_once(validation_context: ValidationContext, key_usage: Any) -> Any:
            if self._signer_path is None:
                self._signer_path = await validate(validation_context, key_usage)
            return self._signer_path

        session._perform_presign_signer_validation = validated_once  # type: ignore[method-assign]
        return session


class _ValidatedOnceTimeStamper(RequestsHTTPTimeStamper):
    """The time-stamping authority's client, validating the TSA's certificates once per validation context (as
    _ValidatedOncePdfSigner does for the signer's): pyHanko asks for their paths before every signature, to embed
    their revocation data, and the answer cannot change while the context lives. Signing CPU per B-LT certificate
    14.5 -> 11.6 ms; handing on the token as received (async_timestamp), 11.6 -> 9.1 ms."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._paths: weakref.WeakKeyDictionary[ValidationContext, list[Any]] = weakref.WeakKeyDictionary()

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> cms.ContentInfo:
        """The token as pyHanko asks for and checks it (status, nonce), handed on as the bytes the TSA sent: the
        checked copy has parsed parts that asn1crypto re-serialises on every dump (3 ms a signature)."""
        nonce, request = self.request_cms(message_digest, md_algorithm)
        response = await self.async_request_tsa_response(request)
        received = response.contents  # the answer's bytes, read before any part of it is parsed
        try:
            handle_tsp_response(response, nonce)  # a refusal or another nonce raises here
        except ValueError as exc:  # asn1crypto's, for an answer without the token a granted one has
            raise TimestampRequestError("The time-stamping authority answered without a usable token.") from exc
        token: cms.ContentInfo = tsp.TimeStampResp.load(_der(0x30, received))["time_stamp_token"]
        return token

    async def validation_paths(self, validation_context: ValidationContext) -> AsyncIterator[Any]:
        paths = self._paths.get(validation_context)
        if paths is None:
            paths = [path async for path in super().validation_paths(validation_context)]
            self._paths[validation_context] = paths
        for path in paths:
            yield path


class PadesPdfSigner:
    """Implements :class:`~chalicelib.domain.documents.DocumentSigner` for one issuer.

    PAdES B-LT when a time-stamping authority and revocation sources are given: the signature is
    timestamped and the chain's certificates and OCSP/CRL answers go into the document security store;
    ``archive=True`` adds a document timestamp over them (B-LTA). Without them (unit tests), B-B.
    The document is certified (DocMDP, no changes allowed) in the issuer's signature field, which the
    renderer created visible, over the signature block printed on page 1.
    """

    def __init__(
        self,
        signer: CallbackSigner,
        *,
        timestamp_url: str | None = None,
        revocation: RevocationInfo | None = None,
        field_name: str = FIELD_NAME,
        reason: str = SIGNATURE_REASON,
        bytes_reserved: int | None = None,
    ) -> None:
        self.signer = signer
        self.field_name = field_name
        self.reason = reason
        # requests, not pyHanko's default aiohttp client: that one builds a session and a TLS context for every
        # time stamp (16 ms before any byte is sent).
        self.timestamper = _ValidatedOnceTimeStamper(timestamp_url, timeout=10) if timestamp_url else None
        self.revocation = revocation if self.timestamper is not None else None
        self._signers = threading.local()  # this thread's signers (held, by archive) and the context they use
        if bytes_reserved is None:
            # Fixed reservation: otherwise pyHanko signs a dummy document first to measure.
            der = signer.estimated_der_size() + (TIMESTAMP_RESERVE if self.timestamper else 0)
            bytes_reserved = -(-2 * der // 1024) * 1024  # hex doubles the size; round up
        self.bytes_reserved = bytes_reserved

    @property
    def level(self) -> str:
        return "B-LT" if self.revocation is not None else ("B-T" if self.timestamper else "B-B")

    def _pdf_signer(self, archive: bool) -> signers.PdfSigner:
        """pyHanko's signer for this level, reused while the validation context is (pyHanko prepares a
        good deal on a signer's first signature: building one per document cost 25 ms). Kept per thread, as the
        contexts are: one thread's new context no longer evicts the signers of the others (with four consumer lanes
        that made most signatures build a signer and validate its certificate again)."""
        context = self.revocation.context() if self.revocation is not None else None
        mine = self._signers
        if getattr(mine, "context_id", None) != id(context):  # this thread's first, or its context was rebuilt
            mine.context_id, mine.held = id(context), {}
        held: dict[bool, signers.PdfSigner] = mine.held
        cached = held.get(archive)
        if cached is None:
            cached = held[archive] = self._new_pdf_signer(archive, context)
        return cached

    def _new_pdf_signer(self, archive: bool, context: ValidationContext | None) -> signers.PdfSigner:
        lta = archive and self.revocation is not None
        metadata = signers.PdfSignatureMetadata(
            field_name=self.field_name,
            md_algorithm="sha256",
            subfilter=SigSeedSubFilter.PADES,
            reason=self.reason,
            location=SIGNATURE_LOCATION,
            certify=True,
            docmdp_permissions=MDPPerm.NO_CHANGES,
            embed_validation_info=context is not None,
            validation_context=context,
            use_pades_lta=lta,
        )
        return _ValidatedOncePdfSigner(metadata, self.signer, timestamper=self.timestamper,
                                       stamp_style=_NoStamp())

    async def async_sign_writer(self, writer: BasePdfFileWriter, archive: bool = False) -> bytes:
        """Sign a document still in a pyHanko writer (no write-and-parse round trip)."""
        output = io.BytesIO()
        await self._pdf_signer(archive).async_sign_pdf(writer, bytes_reserved=self.bytes_reserved, output=output)
        return output.getvalue()

    def sign_writer(self, writer: BasePdfFileWriter, archive: bool = False) -> bytes:
        return _run(self.async_sign_writer(writer, archive))

    async def async_sign_pdf(self, pdf: bytes, archive: bool = False) -> bytes:
        return await self.async_sign_writer(IncrementalPdfFileWriter(io.BytesIO(pdf)), archive)

    def sign_pdf(self, pdf: bytes, archive: bool = False) -> bytes:
        """Sign from synchronous code that is not inside a running event loop."""
        return _run(self.async_sign_pdf(pdf, archive))


class LocalPdfSigner(PadesPdfSigner):
    """Signs with an issuer's local development key (loaded once and reused), B-LT against the local PKI
    services when ``timestamp_url`` is given."""

    def __init__(self, pki: LocalPki, timestamp_url: str | None = None, issuer: str = ISSUER_INPE) -> None:
        keys = pki.issuer(issuer)
        identity = ISSUERS[issuer]
        super().__init__(
            CallbackSigner(local_der_signer(keys.signer_key), keys.signer_certificate),
            timestamp_url=timestamp_url,
            revocation=RevocationInfo([pki.ca_certificate]),
            field_name=identity.signature_field,
            reason=f"Documento emitido por {identity.name}",
        )
