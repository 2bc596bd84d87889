"""DocumentPipeline: seal the QR text, render the PDF around it, sign it (PAdES)."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.adapters.documents.pki import LocalPki
from chalicelib.adapters.documents.render import build_writer, render_pdf, warm_up
from chalicelib.adapters.documents.seal import LocalQrSealer, local_es256_signer
from chalicelib.adapters.documents.signing import LocalPdfSigner, PadesPdfSigner
from chalicelib.domain.documents import DocumentContent, DocumentSigner, QrSealer, SealedData


@dataclass(frozen=True, slots=True)
class ProducedDocument:
    pdf: bytes
    qr_text: str


class DocumentPipeline:
    """Produces signed documents: QR text from the sealer, PDF from the renderer, signature from the signer."""

    def __init__(self, pki: LocalPki | None, signer: DocumentSigner, sealer: QrSealer) -> None:
        self.pki = pki
        self.signer = signer
        self.sealer = sealer

    def warm_up(self) -> None:
        """Prepare fonts and QR tables (about 60 ms) before the first document; signs nothing."""
        warm_up()

    def _qr_text(self, content: DocumentContent) -> str:
        suffix = f"/v/{content.document_id}"
        if not content.verification_url.rstrip("/").endswith(suffix):
            raise ValueError("verification_url must end with /v/{document_id}")
        return self.sealer.seal(SealedData.from_content(content))

    def produce_with_qr(self, content: DocumentContent) -> ProducedDocument:
        """Signed PDF bytes and the exact text its QR encodes."""
        qr_text = self._qr_text(content)
        if isinstance(self.signer, PadesPdfSigner):
            # Sign pyHanko's writer directly: saves writing the PDF and parsing it back.
            pdf = self.signer.sign_writer(build_writer(content, qr_text))
        else:
            pdf = self.signer.sign_pdf(render_pdf(content, qr_text))
        return ProducedDocument(pdf=pdf, qr_text=qr_text)

    def produce(self, content: DocumentContent) -> bytes:
        return self.produce_with_qr(content).pdf

    async def async_produce(self, content: DocumentContent) -> bytes:
        """For async callers (bot handlers): the same, without starting an event loop."""
        qr_text = self._qr_text(content)
        if isinstance(self.signer, PadesPdfSigner):
            return await self.signer.async_sign_writer(build_writer(content, qr_text))
        async_sign = getattr(self.signer, "async_sign_pdf", None)
        if async_sign is None:
            raise TypeError("the signer offers no async_sign_pdf")
        pdf: bytes = await async_sign(render_pdf(content, qr_text))
        return pdf


def local_pipeline(pki: LocalPki, timestamp_url: str | None = None) -> DocumentPipeline:
    """The pipeline wired to the local key files (development and tests)."""
    return DocumentPipeline(
        pki,
        LocalPdfSigner(pki, timestamp_url=timestamp_url),
        LocalQrSealer(pki.qr_kid, local_es256_signer(pki.qr_key)),
    )
