"""DocumentPipeline: seal the QR text, render the PDF/A around it, sign it (PAdES) as the document's issuer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.documents.pki import LocalPki
from chalicelib.adapters.documents.render import build_writer, render_pdf, warm_up
from chalicelib.adapters.documents.seal import LocalQrSealer, local_es256_signer
from chalicelib.adapters.documents.signing import LocalPdfSigner, PadesPdfSigner
from chalicelib.domain.documents import ARCHIVED_KINDS, ISSUERS, SealedData, SignedContent
from chalicelib.tracing import subsegment


@dataclass(frozen=True, slots=True)
class ProducedDocument:
    pdf: bytes
    qr_text: str


@dataclass(frozen=True, slots=True)
class IssuerTools:
    """What signs one issuer's documents: its PDF signer and its QR sealer (with the kid of its key)."""

    signer: Any  # PadesPdfSigner, or any DocumentSigner
    sealer: LocalQrSealer


class DocumentPipeline:
    """Produces signed documents: QR text from the issuer's sealer, PDF from the renderer, signature from the
    issuer's signer. A kind of document whose issuer has no tools here is refused, never signed by another."""

    def __init__(self, pki: Any, issuers: Mapping[str, IssuerTools]) -> None:
        self.pki = pki
        self.issuers = dict(issuers)

    def tools(self, content: SignedContent) -> IssuerTools:
        tools = self.issuers.get(content.issuer.code)
        if tools is None:
            raise LookupError(f"no signing key is configured for issuer {content.issuer.code}")
        return tools

    @property
    def signer(self) -> Any:
        """The first issuer's PDF signer (benchmarks sign blank pages with it)."""
        return next(iter(self.issuers.values())).signer

    def warm_up(self) -> None:
        """Prepare fonts and QR tables (about 60 ms) before the first document, and import what writing and signing
        one would import on first use (about 30 ms: lxml for the XMP metadata, pyHanko's stream filters,
        cryptography's OpenSSL backend, and for long-term signatures the revocation fetchers); signs nothing."""
        import concurrent.futures.thread  # noqa: F401

        import cryptography.hazmat.backends.openssl.backend  # noqa: F401
        import pyhanko.pdf_utils.filters  # noqa: F401
        import pyhanko.pdf_utils.metadata.xmp_xml  # noqa: F401
        import pyhanko_certvalidator.fetchers.requests_fetchers  # noqa: F401

        warm_up()

    def _qr_text(self, content: SignedContent) -> str:
        suffix = f"/v/{content.document_id}"
        if not content.verification_url.rstrip("/").endswith(suffix):
            raise ValueError("verification_url must end with /v/{document_id}")
        return self.tools(content).sealer.seal(SealedData.from_content(content))

    def produce_with_qr(self, content: SignedContent) -> ProducedDocument:
        """Signed PDF bytes and the exact text its QR encodes (X-Ray: seal, render and sign each traced)."""
        with subsegment("document.seal"):
            qr_text = self._qr_text(content)
        signer = self.tools(content).signer
        archive = content.kind in ARCHIVED_KINDS
        if isinstance(signer, PadesPdfSigner):
            # Sign pyHanko's writer directly: saves writing the PDF and parsing it back.
            with subsegment("document.render"):
                writer = build_writer(content, qr_text)
            with subsegment("document.sign"):
                pdf = signer.sign_writer(writer, archive)
        else:
            with subsegment("document.render"):
                rendered = render_pdf(content, qr_text)
            with subsegment("document.sign"):
                pdf = signer.sign_pdf(rendered)
        return ProducedDocument(pdf=pdf, qr_text=qr_text)

    def produce(self, content: SignedContent) -> bytes:
        return self.produce_with_qr(content).pdf

    async def async_produce(self, content: SignedContent) -> bytes:
        """For async callers (bot handlers): the same, without starting an event loop."""
        qr_text = self._qr_text(content)
        signer = self.tools(content).signer
        if isinstance(signer, PadesPdfSigner):
            return await signer.async_sign_writer(build_writer(content, qr_text), content.kind in ARCHIVED_KINDS)
        async_sign = getattr(signer, "async_sign_pdf", None)
        if async_sign is None:
            raise TypeError("the signer offers no async_sign_pdf")
        pdf: bytes = await async_sign(render_pdf(content, qr_text))
        return pdf

    def sealer(self, issuer: str) -> LocalQrSealer:
        return self.issuers[issuer].sealer


class LocalPipeline(DocumentPipeline):
    """The pipeline over the local key files, reloaded when ``make rotate-keys`` rotates them under a running
    stack (one stat of the JWKS file per document), so new documents use the new keys at once."""

    def __init__(self, pki: LocalPki, timestamp_url: str | None) -> None:
        self.timestamp_url = timestamp_url
        self._generation = pki.generation()
        super().__init__(pki, _local_tools(pki, timestamp_url))

    def _reload_if_rotated(self) -> None:
        if self.pki.generation() != self._generation:
            from chalicelib.adapters.documents.pki import ensure_local_pki

            self.pki = ensure_local_pki(self.pki.directory)
            self._generation = self.pki.generation()
            self.issuers = _local_tools(self.pki, self.timestamp_url)

    def tools(self, content: SignedContent) -> IssuerTools:
        self._reload_if_rotated()
        return super().tools(content)

    def sealer(self, issuer: str) -> LocalQrSealer:
        self._reload_if_rotated()
        return super().sealer(issuer)


def local_pipeline(pki: LocalPki, timestamp_url: str | None = None) -> LocalPipeline:
    """The pipeline wired to the local key files (development and tests): B-LT/B-LTA against the local PKI
    services when ``timestamp_url`` is given, B-B otherwise."""
    return LocalPipeline(pki, timestamp_url)


def _local_tools(pki: LocalPki, timestamp_url: str | None) -> dict[str, IssuerTools]:
    return {
        code: IssuerTools(
            LocalPdfSigner(pki, timestamp_url=timestamp_url, issuer=code),
            LocalQrSealer(pki.issuer(code).qr_kid, local_es256_signer(pki.issuer(code).qr_key)),
        )
        for code in ISSUERS
    }
