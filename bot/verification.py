"""Checking a document in the chat: a PDF sent to the bot, or a photo of its QR code (decoded here)."""

from __future__ import annotations

import asyncio
import io
import logging
from typing import Any

from telegram.constants import ChatAction

from .api_client import ApiError
from .conversation import Turn
from .texts import has, lima_datetime, ntext

# API refusals of an uploaded file that the person can act on; anything else: verification unavailable.
REFUSALS = {"not_a_pdf": "verify.not_pdf", "payload_too_large": "verify.too_large"}

log = logging.getLogger("bot.verification")

MAX_PDF_BYTES = 10 * 1024 * 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024


class QrDecoderMissing(Exception):
    """zxing-cpp or Pillow is not installed where the bot runs."""


def decode_qr(image: bytes) -> str | None:
    """The text of the first QR code in a photo, or None when there is none."""
    try:
        import zxingcpp
        from PIL import Image, ImageOps
    except ImportError as error:  # imported here: only photo updates pay for them
        raise QrDecoderMissing(str(error)) from None
    with Image.open(io.BytesIO(image)) as opened:
        picture = ImageOps.exif_transpose(opened).convert("L")
    found = zxingcpp.read_barcodes(picture, formats=zxingcpp.BarcodeFormat.QRCode)  # type: ignore[arg-type]
    return found[0].text if found else None


async def on_pdf_document(turn: Turn) -> None:
    """A PDF sent to the chat: ask the API whether it is authentic, current, revoked or expired."""
    message = turn.update.effective_message
    assert message is not None and message.document is not None
    document = message.document
    if document.file_size and document.file_size > MAX_PDF_BYTES:
        await turn.say("verify.too_large")
        return
    await turn.context.bot.send_chat_action(turn.chat_id, ChatAction.TYPING)
    telegram_file = await turn.context.bot.get_file(document.file_id)
    pdf = bytes(await telegram_file.download_as_bytearray())
    # Judged by its content: phones label files loosely (application/octet-stream, no extension).
    if not pdf.startswith(b"%PDF-"):
        await turn.say("verify.not_pdf")
        return
    try:
        result = await turn.api.verify_pdf(pdf)
    except ApiError as error:
        log.info("verification refused", extra={"update_id": turn.update.update_id, "code": error.code})
        await turn.say(REFUSALS.get(error.code, "verify.unavailable"))
        return
    verdict, state = result.get("verdict"), result.get("status")
    key = f"verify.pdf.{state}" if verdict == "authentic" else f"verify.pdf.{verdict}"
    await turn.send(_answer(turn, key if has(key, turn.lang) else "verify.pdf.unknown", result))


async def on_photo(turn: Turn) -> None:
    """A photo: find its QR code here (not on the phone) and ask the API about the text it holds."""
    message = turn.update.effective_message
    assert message is not None and message.photo
    largest = message.photo[-1]
    if largest.file_size and largest.file_size > MAX_PHOTO_BYTES:
        await turn.say("verify.too_large")
        return
    await turn.context.bot.send_chat_action(turn.chat_id, ChatAction.TYPING)
    telegram_file = await turn.context.bot.get_file(largest.file_id)
    image = bytes(await telegram_file.download_as_bytearray())
    try:
        qr_text = await asyncio.to_thread(decode_qr, image)
    except QrDecoderMissing:
        log.warning("QR decoding is not installed", extra={"update_id": turn.update.update_id})
        await turn.say("verify.unavailable")
        return
    except OSError:  # not an image Pillow can read
        qr_text = None
    if not qr_text:
        await turn.say("verify.qr.not_found")
        return
    try:
        result = await turn.api.verify_qr(qr_text)
    except ApiError as error:
        log.info("verification refused", extra={"update_id": turn.update.update_id, "code": error.code})
        await turn.say("verify.unavailable")
        return
    # A QR whose signed data fails the offline check is forged, whatever the registry says; one that leads to
    # another site is named as such, so the person does not follow it.
    if result.get("offline_reason") == "foreign_url":
        key = "verify.qr.foreign_url"
    elif result.get("offline_check") == "invalid":
        key = "verify.qr.invalid"
    else:
        key = f"verify.qr.{result.get('status')}"
    await turn.send(_answer(turn, key if has(key, turn.lang) else "verify.qr.unknown", result))


def _answer(turn: Turn, key: str, result: dict[str, Any]) -> str:
    """The verdict, then what the genuine document says, its result first (REGISTRA / NO REGISTRA and how many
    cases), so the reader can compare it with the paper in hand. A forged QR or an altered file gets the
    verdict alone: nothing about any genuine document; a QR leading to another site says which."""
    issuer = result.get("issuer")
    lines = [turn.t(key, site=result.get("points_to") or "",
                    issuer=issuer.get("name", "") if isinstance(issuer, dict) else "")]
    document = result.get("document")
    if isinstance(document, dict) and key not in ("verify.qr.invalid", "verify.pdf.altered"):
        kind = document.get("document_type")
        lines.append(turn.t("verify.details", title=document.get("title") or "", number=document.get("number") or "",
                            holder=document.get("holder_name") or "",
                            document=f"{kind} {document.get('document_number') or ''}".strip() if kind else "",
                            valid_until=_day(document.get("valid_until"), turn.lang)))
        if document.get("result"):
            count = int(document.get("cases_count") or 0)
            lines.append(ntext("verify.result.cases", count, turn.lang, result=document["result"]) if count
                         else turn.t("verify.result", result=document["result"]))
        if result.get("revoked_at"):
            lines.append(turn.t("verify.revoked_on", date=_day(result["revoked_at"], turn.lang)))
        lines.append(turn.t("verify.compare"))
    return "\n".join(lines)


async def verify_by_id(turn: Turn, document_id: str) -> None:
    """A deep link from a verification page (`/start v_<id>`): the register's word on that document."""
    try:
        result = await turn.api.verify_document(document_id)
    except ApiError:
        await turn.say("verify.unavailable")
        return
    key = f"verify.qr.{result.get('status')}"
    await turn.send(_answer(turn, key if has(key, turn.lang) else "verify.qr.unknown", result))


def _day(value: Any, lang: str) -> str:
    if not isinstance(value, str):
        return ""
    try:
        return lima_datetime(value, lang).split(",")[0]
    except ValueError:
        return value
