"""After the request is registered: proving identity (the card's issue date), the payment order with the name
the certificate will carry, vouchers and their receipt, /estado with the truth about money and revocation, the
PDF, the free replacement, and deep links (`/start r_<request>` resumes a request, `/start v_<document>`
opens a verification)."""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import Any

from telegram import InlineKeyboardButton, InputFile
from telegram.error import BadRequest

from . import conversation as c
from .api_client import ApiError
from .errors import describe, document_label
from .state import ConversationModel, Step
from .texts import has, lima_datetime, money, ntext

log = logging.getLogger("bot")

OPEN_STATUSES = ("pending_identity", "awaiting_payment")
as_iso_date = c.as_iso_date
_DEEP_LINK = re.compile(r"([rv])_([A-Za-z0-9_\-]{16,64})")


def follow(convo: ConversationModel, request: dict[str, Any]) -> None:
    convo.request_id = request.get("request_id")
    convo.request_number = request.get("number")
    convo.document_type = (request.get("applicant") or {}).get("document_type")


def _day(value: str | None) -> str:
    try:
        return date.fromisoformat((value or "")[:10]).strftime("%d/%m/%Y")
    except ValueError:
        return value or ""


def _full_name(request: dict[str, Any]) -> str:
    applicant = request.get("applicant") or {}
    return " ".join(p for p in (applicant.get("given_names"), applicant.get("first_surname"),
                                applicant.get("second_surname")) if p)


# --- identity ---------------------------------------------------------------------------------------------------

async def continue_request(turn: c.Turn, request: dict[str, Any]) -> None:
    follow(turn.convo, request)
    if request.get("status") == "pending_identity":
        await ask_identity(turn)
    elif request.get("status") == "awaiting_payment":
        await show_payment(turn, request)
    else:
        turn.convo.go(Step.IDLE)
        await show_status(turn, request)


async def ask_identity(turn: c.Turn, created: dict[str, Any] | None = None) -> None:
    """The card's issue date: printed on it, held by RENIEC / Migraciones, not computable from the number.
    Right after registering, one message says both."""
    turn.convo.go(Step.IDENTITY)
    kind = turn.convo.document_type
    key = "ask.issue_date.DNI" if kind == "DNI" else "ask.issue_date"
    question = turn.t(key, document=document_label(kind, turn.lang))
    if created is not None:
        question = f"{turn.t('request.created', number=created.get('number'))}\n\n{question}"
    await turn.prompt(question)


async def on_identity(turn: c.Turn) -> None:
    """The document's issue date: the API checks it, and the names and birth date, against the registry."""
    convo = turn.convo
    if not convo.request_id:
        convo.go(Step.IDLE)
        await turn.say("idle")
        return
    try:
        request = await turn.api.confirm_identity(turn.user, convo.request_id,
                                                  {"issue_date": as_iso_date(turn.typed)})
    except ApiError as error:
        await _identity_refused(turn, error)
        return
    await show_payment(turn, request)


async def _identity_refused(turn: c.Turn, error: ApiError) -> None:
    convo = turn.convo
    if error.code == "identity_not_confirmed":
        left = error.details.get("attempts_left")
        if left == 0:
            await turn.say("identity.rejected", number=convo.request_number)
            convo.request_id = convo.request_number = convo.document_type = None
            convo.go(Step.IDLE)
        else:
            await turn.send(ntext("identity.failed", int(left or 0), turn.lang))
        return
    if error.code == "document_expired":
        await turn.say("identity.expired", document=document_label(convo.document_type, turn.lang),
                       date=_day(str(error.details.get("expiry_date") or "")), number=convo.request_number)
        convo.request_id = convo.request_number = convo.document_type = None
        convo.go(Step.IDLE)
        return
    if error.code == "invalid_state":
        await show_current_state(turn)
        return
    await turn.send(describe(error.errors[0], turn.lang, convo.document_type))


# --- payment ----------------------------------------------------------------------------------------------------

async def show_payment(turn: c.Turn, request: dict[str, Any], *, take_over: bool = True) -> None:
    """The payment order, with the name the certificate will carry (the registry's) shown before paying. With
    take_over False (a status check), a conversation about something else stays where it was."""
    payment = request.get("payment") or {}
    if take_over:
        follow(turn.convo, request)
        turn.convo.go(Step.PAYMENT)
    rid = request["request_id"]
    applicant = request.get("applicant") or {}
    body = turn.t("payment.order", number=request.get("number"), order_code=payment.get("order_code"),
                  name=_full_name(request),
                  document=f"{document_label(applicant.get('document_type'), turn.lang)} "
                           f"{applicant.get('document_number', '')}",
                  amount=money(payment.get("amount", ""), payment.get("currency", "PEN")),
                  expires=lima_datetime(payment["expires_at"], turn.lang) if payment.get("expires_at") else "")
    agent = [turn.button("button.paid_at_agent", f"pay:agent:{rid}")]
    check = [turn.button("button.check_status", f"pay:status:{rid}")]
    url = payment.get("pay_url")
    if url:
        try:
            await turn.send(body, c.keyboard([InlineKeyboardButton(turn.t("button.pay_online"), url=url)],
                                             agent, check))
            return
        except BadRequest:
            # Telegram refuses URL buttons it cannot open (e.g. a local pay page): give the link as text.
            body = f"{body}\n\n{turn.t('payment.link', url=url)}"
    await turn.send(body, c.keyboard(agent, check))


async def on_payment_button(turn: c.Turn, value: str) -> None:
    """"I paid at an agent" (ask the voucher) or "check the status"; valid as long as the order is open."""
    action, _, rid = value.partition(":")
    if not rid:
        await turn.answer("stale_button")
        return
    request = await turn.api.get_request(turn.user, rid)
    if action == "agent" and request.get("status") == "awaiting_payment":
        follow(turn.convo, request)
        turn.convo.go(Step.VOUCHER_OPERATION)
        await turn.ask("ask.operation_number")
        return
    await show_status(turn, request)


async def on_operation_number(turn: c.Turn) -> None:
    """The voucher's operation number; its date comes next."""
    turn.convo.data()["operation_number"] = turn.typed
    turn.convo.go(Step.VOUCHER_DATE)
    await turn.ask("ask.voucher_date")


async def on_voucher_date(turn: c.Turn) -> None:
    """The voucher's date: the API checks the voucher with the bank; the answer is the receipt."""
    convo = turn.convo
    body = {"operation_number": convo.data().get("operation_number", ""), "date": as_iso_date(turn.typed)}
    try:
        request = await turn.api.submit_voucher(turn.user, str(convo.request_id), body)
    except ApiError as error:
        if error.code == "invalid_state":
            await show_current_state(turn)
            return
        if error.details.get("recorded_for_refund"):
            # Paid, but the order could no longer take it: the money goes back, and the person is told so.
            convo.forget_answers()
            convo.go(Step.FOLLOWING)
            await turn.send(describe({"code": error.code, "field": "payment"}, turn.lang))
            return
        # One message: what was wrong, and which of the two to type again (the text says so).
        convo.go(Step.VOUCHER_DATE if error.field == "date" else Step.VOUCHER_OPERATION)
        await turn.prompt(describe(error.errors[0], turn.lang))
        return
    convo.forget_answers()
    convo.go(Step.FOLLOWING)
    await turn.send(receipt_text(turn, request, "payment.received"))


def receipt_text(turn: c.Turn, request: dict[str, Any], key: str) -> str:
    receipt = request.get("receipt") or {}
    return turn.t(key, number=request.get("number"),
                  amount=money(receipt.get("amount", ""), receipt.get("currency", "PEN")),
                  operation=receipt.get("operation", ""),
                  date=lima_datetime(receipt["paid_at"], turn.lang) if receipt.get("paid_at") else "")


# --- status, the certificate, its replacement -------------------------------------------------------------------

async def status(turn: c.Turn) -> None:
    """/estado, /status: the latest request's status, with what to do next."""
    latest = await turn.api.latest_request(turn.user)
    if latest is None:
        await turn.say("status.none")
        return
    await show_status(turn, latest)


async def show_current_state(turn: c.Turn) -> None:
    if turn.convo.request_id:
        request = await turn.api.get_request(turn.user, turn.convo.request_id)
        await show_status(turn, request)
    else:
        await status(turn)


def _money_lines(turn: c.Turn, request: dict[str, Any]) -> list[str]:
    """The truth about money received: the receipt, and every payment that could not be applied."""
    lines = []
    receipt = request.get("receipt") or {}
    if receipt.get("waived"):
        lines.append(turn.t("status.waived", replaces=receipt.get("replaces", "")))
    elif receipt:
        lines.append(receipt_text(turn, request, "status.receipt"))
    for refund in request.get("refunds") or []:
        lines.append(turn.t(f"status.refund.{refund.get('state', 'due')}",
                            amount=money(refund.get("amount", ""), refund.get("currency", "PEN")),
                            operation=refund.get("operation", ""),
                            date=lima_datetime(refund["paid_at"], turn.lang) if refund.get("paid_at") else ""))
    return lines


async def show_status(turn: c.Turn, request: dict[str, Any]) -> None:
    """A request's number and status, what happened to the money, and what the person can do now."""
    state = str(request.get("status"))
    if state == "awaiting_payment" and request.get("payment"):
        idle = turn.convo.current in (Step.IDLE, Step.PAYMENT, Step.FOLLOWING)
        await show_payment(turn, request, take_over=idle or turn.convo.request_id == request.get("request_id"))
        return
    document = request.get("document") or {}
    label = c.status_label(state, turn.lang)
    if state == "issued" and document.get("status") == "revoked":
        label = turn.t("status.issued.revoked")
    elif state == "identity_rejected" and request.get("rejection") == "document_expired":
        label = turn.t("status.identity_rejected.document_expired")
    elif state == "expired" and request.get("refunds"):
        label = turn.t("status.expired.paid_late")
    lines = [turn.t("status.summary", number=request.get("number"), status=label), *_money_lines(turn, request)]
    markup = None
    if state == "issued" and document.get("status") == "revoked":
        lines.append(turn.t("status.revoked", date=_day(document.get("revoked_at")),
                            reason=turn.t(f"revocation.{document.get('revocation_reason') or 'other'}")))
        if request.get("replaced_by"):
            lines.append(turn.t("status.next.replaced"))
        elif document.get("free_replacement"):
            lines.append(turn.t("status.next.replacement"))
            markup = c.keyboard([turn.button("button.replacement", f"replace:{request['request_id']}")])
        else:
            lines.append(turn.t("status.next.new_request"))
    elif has(f"status.next.{state}", turn.lang):
        lines.append(turn.t(f"status.next.{state}"))
    if state == "issued" and document.get("status") != "revoked":
        markup = c.keyboard([turn.button("button.get_pdf", f"pdf:{request['request_id']}")])
    await turn.send("\n".join(lines), markup)


async def on_pdf(turn: c.Turn, rid: str) -> None:
    """Send the issued certificate as a document; never a revoked one."""
    await turn.answer()
    request = await turn.api.get_request(turn.user, rid)
    if (request.get("document") or {}).get("status") == "revoked":
        await show_status(turn, request)
        return
    pdf = await turn.api.document(turn.user, rid) if request.get("status") == "issued" else None
    if pdf is None:
        await turn.say("document.not_ready")
        return
    number = str(request.get("number") or "certificado")
    await turn.context.bot.send_document(turn.chat_id, InputFile(pdf, filename=f"certificado-{number}.pdf"),
                                         caption=turn.t("document.caption", number=number))


async def on_replacement(turn: c.Turn, rid: str) -> None:
    """The free replacement of a certificate revoked by INPE's error: a new request, already paid."""
    await turn.close_keyboard()
    try:
        created = await turn.api.request_replacement(turn.user, rid, turn.lang)
    except ApiError as error:
        log.info("replacement refused", extra={"update_id": turn.update.update_id, "code": error.code})
        await turn.say("replacement.refused")
        return
    follow(turn.convo, created)
    turn.convo.go(Step.FOLLOWING)
    await turn.say("replacement.created", number=created.get("number"),
                   replaces=(created.get("receipt") or {}).get("replaces", ""))


# --- deep links -------------------------------------------------------------------------------------------------

async def deep_link(turn: c.Turn, payload: str) -> None:
    """`/start r_<request id>` (the e-mails' "continue in Telegram"): the request, if it is this person's;
    `/start v_<document id>` (a verification page's link): what the register says of that document."""
    match = _DEEP_LINK.fullmatch(payload)
    if match is None:
        await turn.say("deeplink.unknown")
        return
    kind, identifier = match.groups()
    if kind == "v":
        from .verification import verify_by_id

        await verify_by_id(turn, identifier)
        return
    try:
        request = await turn.api.get_request(turn.user, identifier)
    except ApiError:
        # Someone else's request and one that does not exist look the same.
        await turn.say("deeplink.unknown")
        return
    await continue_request(turn, request)


def register_steps() -> None:
    c.TEXT_STEPS.update({
        Step.IDENTITY: on_identity,
        Step.VOUCHER_OPERATION: on_operation_number,
        Step.VOUCHER_DATE: on_voucher_date,
    })
    c.BUTTON_STEPS.add(Step.PAYMENT)
    c.BUTTONS.update({
        "pay": (on_payment_button, None),
        "pdf": (on_pdf, None),
        "replace": (on_replacement, None),
    })
