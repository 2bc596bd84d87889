"""The certificate conversation: named steps, one small async handler per step, state read from DynamoDB.

Every handler receives a Turn: the update, the chat's conversation item (loaded fresh for each update) and
how to answer. `conversational` loads the item, skips an update it has already handled, closes an abandoned
conversation, runs the handler and saves the item with its version. The bot decides nothing itself: the API
validates every answer, and its errors are shown through the catalogue.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from .api_client import ApiClient, ApiError, ApiUnavailable, FeatureUnavailable
from .errors import describe, document_label
from .settings import BotSettings
from .state import ConversationModel, ConversationStore, Step
from .texts import COUNTRY_BUTTONS, LANGUAGES, country_name, has, language_for, lima_datetime, money, text

log = logging.getLogger("bot")

Context = ContextTypes.DEFAULT_TYPE
APPLICANT_FIELDS = ("nationality", "document_type", "document_number", "given_names", "first_surname",
                    "second_surname", "birth_date", "email")
# The order in which typed applicant data is asked, and the step that asks for each field the API may reject.
FIELD_STEPS = (Step.DOCUMENT_NUMBER, Step.GIVEN_NAMES, Step.FIRST_SURNAME, Step.SECOND_SURNAME, Step.BIRTH_DATE,
               Step.EMAIL)
STEP_FOR_FIELD = {"nationality": Step.NATIONALITY, "document_type": Step.NATIONALITY,
                  **{step.value: step for step in FIELD_STEPS}}
OPEN_STATUSES = ("pending_identity", "awaiting_payment")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: BotSettings
    api: ApiClient
    store: ConversationStore
    clock: Callable[[], datetime] = utc_now

    @property
    def ttl(self) -> timedelta:
        return timedelta(hours=self.settings.conversation_ttl_hours)


def services_of(context: Context) -> Services:
    services: Services = context.application.bot_data["services"]
    return services


class Turn:
    """One update being handled: who wrote, their conversation, and the ways to answer them."""

    def __init__(self, update: Update, context: Context, conversation: ConversationModel,
                 services: Services) -> None:
        self.update = update
        self.context = context
        self.convo = conversation
        self.services = services
        self.api = services.api
        self._answered = False
        self._close_keyboard = False

    @property
    def chat_id(self) -> int:
        assert self.update.effective_chat is not None
        return self.update.effective_chat.id

    @property
    def user(self) -> str:
        """The API's channel user for this person."""
        assert self.update.effective_user is not None
        return f"telegram:{self.update.effective_user.id}"

    @property
    def lang(self) -> str:
        if self.convo.language in LANGUAGES:
            return str(self.convo.language)
        user = self.update.effective_user
        return language_for(user.language_code if user else None)

    @property
    def typed(self) -> str:
        message = self.update.effective_message
        return (message.text or "").strip() if message else ""

    def t(self, key: str, **values: Any) -> str:
        return text(key, self.lang, **values)

    def button(self, key: str, data: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(self.t(key), callback_data=data)

    async def say(self, key: str, markup: InlineKeyboardMarkup | None = None, **values: Any) -> Message:
        return await self.send(self.t(key, **values), markup)

    async def send(self, body: str, markup: InlineKeyboardMarkup | None = None) -> Message:
        return await self.context.bot.send_message(self.chat_id, body, reply_markup=markup)

    async def ask(self, key: str, markup: InlineKeyboardMarkup | None = None, **values: Any) -> Message:
        """Send a prompt; its keyboard becomes the live one (older keyboards turn stale)."""
        message = await self.say(key, markup, **values)
        self.convo.prompt_message_id = message.message_id if markup else None
        return message

    async def answer(self, key: str | None = None) -> None:
        """Answer the button press (once): Telegram shows the person a spinner until we do."""
        query = self.update.callback_query
        if query is None or self._answered:
            return
        self._answered = True
        with contextlib.suppress(BadRequest):  # answered before (a redelivered update) or too old
            await query.answer(self.t(key) if key else None)

    async def close_keyboard(self) -> None:
        """Take the buttons off the message just pressed once the step has succeeded: if the API is down,
        the person can press again."""
        self._close_keyboard = True

    async def finish(self) -> None:
        query = self.update.callback_query
        if self._close_keyboard and query is not None and query.message is not None:
            with contextlib.suppress(BadRequest):  # already without buttons
                await query.edit_message_reply_markup(reply_markup=None)
        await self.answer()


Handler = Callable[[Turn], Awaitable[None]]


def _is_command(update: Update, *names: str) -> bool:
    message = update.effective_message
    word = (message.text or "").split(maxsplit=1)[0] if message and message.text else ""
    command = word.split("@", 1)[0].lstrip("/").lower() if word.startswith("/") else ""
    return bool(command) and (not names or command in names)


def conversational(handler: Handler) -> Callable[[Update, Context], Coroutine[Any, Any, None]]:
    """Run a step handler with the chat's conversation: loaded, de-duplicated, expired if abandoned, saved."""

    @functools.wraps(handler)
    async def run(update: Update, context: Context) -> None:
        services = services_of(context)
        if update.effective_chat is None or update.effective_user is None:
            return
        convo = services.store.load(update.effective_chat.id)
        if convo.seen(update.update_id):
            # Telegram redelivered an update we answered already (a retried webhook): answer it once only.
            log.info("duplicate update ignored", extra={"update_id": update.update_id})
            return
        turn = Turn(update, context, convo, services)
        now = services.clock()
        try:
            step: Handler | None = handler
            if convo.is_expired(now, services.ttl):
                convo.go(Step.IDLE)
                convo.forget_answers()
                log.info("conversation expired", extra={"update_id": update.update_id})
                if not _is_command(update, "start"):
                    await turn.say("expired", hours=f"{services.settings.conversation_ttl_hours:g}")
                    if not _is_command(update):
                        step = None  # what they sent belonged to the closed conversation
            if step is not None:
                await step(turn)
            await turn.finish()
        except ApiUnavailable as error:
            log.warning("API unavailable", extra={"update_id": update.update_id, "reason": str(error)})
            await turn.say("api.unavailable")
            await turn.answer()
        except Exception as error:
            error.bot_language = turn.lang  # type: ignore[attr-defined]  # for the error handler's apology
            raise
        convo.remember(update.update_id)
        services.store.save(convo, now, services.ttl)

    return run


def keyboard(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([list(row) for row in rows])


def as_iso_date(typed: str) -> str:
    """Day/month/year as people in Peru write it, turned into the API's YYYY-MM-DD; anything else as typed."""
    match = re.fullmatch(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})", typed.strip())
    if not match:
        return typed.strip()
    day, month, year = match.groups()
    return f"{year}-{int(month):02d}-{int(day):02d}"


def status_label(status: str, lang: str) -> str:
    key = f"status.{status}"
    return text(key, lang) if has(key, lang) else text("status.unknown", lang)


# --- commands -----------------------------------------------------------------------------------------------

async def start(turn: Turn) -> None:
    """/start: a fresh conversation that begins with the choice of language."""
    convo = turn.convo
    convo.forget_answers()
    convo.request_id = convo.request_number = convo.document_type = None
    convo.language = turn.lang
    convo.go(Step.LANGUAGE)
    await turn.ask("welcome", keyboard([turn.button("button.lang.es", "lang:es"),
                                        turn.button("button.lang.en", "lang:en")]))


async def status(turn: Turn) -> None:
    """/estado, /status: the latest request's status, with what to do next."""
    latest = await turn.api.latest_request(turn.user)
    if latest is None:
        await turn.say("status.none")
        return
    await show_status(turn, latest)


async def help_(turn: Turn) -> None:
    """/ayuda, /help: what the bot can do; the conversation stays where it was."""
    await turn.say("help")


async def cancel(turn: Turn) -> None:
    """/cancelar, /cancel: leave the conversation; a request already made is kept."""
    convo = turn.convo
    number = convo.request_number
    convo.forget_answers()
    convo.request_id = convo.request_number = convo.document_type = None
    convo.go(Step.IDLE)
    if number:
        await turn.say("cancelled.with_request", number=number)
    else:
        await turn.say("cancelled")


async def unknown_command(turn: Turn) -> None:
    """A command the bot does not have."""
    await turn.say("unknown_command")


# --- language, resume, guide and terms ----------------------------------------------------------------------

async def on_language(turn: Turn, choice: str) -> None:
    """Language chosen: offer to continue an open request, or explain the service."""
    turn.convo.language = choice if choice in LANGUAGES else turn.lang
    await turn.close_keyboard()
    latest = await turn.api.latest_request(turn.user)
    if latest and latest.get("status") in OPEN_STATUSES:
        _follow(turn.convo, latest)
        turn.convo.go(Step.RESUME)
        await turn.ask("resume.found", keyboard([turn.button("button.resume", "resume:continue")],
                                                [turn.button("button.new_request", "resume:new")]),
                       number=latest.get("number"), status=status_label(latest["status"], turn.lang))
        return
    await show_guide(turn)


async def on_resume(turn: Turn, choice: str) -> None:
    """Continue the open request where it stopped, or start a new one."""
    await turn.close_keyboard()
    if choice == "continue" and turn.convo.request_id:
        request = await turn.api.get_request(turn.user, turn.convo.request_id)
        await continue_request(turn, request)
        return
    turn.convo.request_id = turn.convo.request_number = turn.convo.document_type = None
    await show_guide(turn)


async def show_guide(turn: Turn) -> None:
    await turn.say("guide", fee=money(turn.services.settings.certificate_fee))
    turn.convo.go(Step.TERMS)
    await turn.ask("terms", keyboard([turn.button("button.accept", "terms:yes")],
                                     [turn.button("button.decline", "terms:no")]))


async def on_terms(turn: Turn, choice: str) -> None:
    """Terms accepted (ask the nationality) or declined (stop)."""
    await turn.close_keyboard()
    if choice != "yes":
        turn.convo.forget_answers()
        turn.convo.go(Step.IDLE)
        await turn.say("terms.declined")
        return
    turn.convo.data()["terms_accepted"] = True
    await ask_step(turn, Step.NATIONALITY)


# --- applicant data ------------------------------------------------------------------------------------------

async def on_nationality(turn: Turn, choice: str) -> None:
    """Peruvians apply with their DNI; foreigners choose their document next."""
    await turn.close_keyboard()
    data = turn.convo.data()
    if choice == "PER":
        data.update(nationality="PER", document_type="DNI")
        await advance(turn, Step.NATIONALITY)
        return
    data.pop("nationality", None)
    await ask_step(turn, Step.DOCUMENT_TYPE)


async def on_document_type(turn: Turn, choice: str) -> None:
    """A foreigner's document type; then their country."""
    await turn.close_keyboard()
    turn.convo.data()["document_type"] = choice
    await ask_step(turn, Step.COUNTRY)


async def on_country(turn: Turn, choice: str) -> None:
    """A country from the buttons, or "other" to type its code."""
    await turn.close_keyboard()
    if choice == "other":
        await ask_step(turn, Step.COUNTRY_CODE)
        return
    turn.convo.data()["nationality"] = choice
    await advance(turn, Step.NATIONALITY)


async def on_country_code(turn: Turn) -> None:
    """A typed country code (the API says whether it is one)."""
    turn.convo.data()["nationality"] = turn.typed.upper()
    await advance(turn, Step.NATIONALITY)


async def on_document_number(turn: Turn) -> None:
    """The document number, as typed."""
    turn.convo.data()["document_number"] = turn.typed
    if await field_accepted(turn, Step.DOCUMENT_NUMBER, ("nationality", "document_type", "document_number")):
        await advance(turn, Step.DOCUMENT_NUMBER)


async def on_given_names(turn: Turn) -> None:
    """Given names, as typed."""
    turn.convo.data()["given_names"] = turn.typed
    if await field_accepted(turn, Step.GIVEN_NAMES, ("given_names",)):
        await advance(turn, Step.GIVEN_NAMES)


async def on_first_surname(turn: Turn) -> None:
    """First surname, as typed."""
    turn.convo.data()["first_surname"] = turn.typed
    if await field_accepted(turn, Step.FIRST_SURNAME, ("first_surname",)):
        await advance(turn, Step.FIRST_SURNAME)


async def on_second_surname(turn: Turn) -> None:
    """Second surname, as typed."""
    turn.convo.data()["second_surname"] = turn.typed
    if await field_accepted(turn, Step.SECOND_SURNAME, ("second_surname",)):
        await advance(turn, Step.SECOND_SURNAME)


async def on_birth_date(turn: Turn) -> None:
    """Date of birth, day/month/year."""
    turn.convo.data()["birth_date"] = as_iso_date(turn.typed)
    if await field_accepted(turn, Step.BIRTH_DATE, ("birth_date",)):
        await advance(turn, Step.BIRTH_DATE)


async def on_email(turn: Turn) -> None:
    """The optional e-mail address; then the request is sent."""
    turn.convo.data()["email"] = turn.typed
    if await field_accepted(turn, Step.EMAIL, ("email",)):
        await advance(turn, Step.EMAIL)


async def field_accepted(turn: Turn, step: Step, fields: tuple[str, ...]) -> bool:
    """Ask the API about the field just typed (with the fields it depends on), so a mistake is told at once
    and the same field is asked again; the final POST stays the authority."""
    data = turn.convo.data()
    applicant = {name: data[name] for name in fields if data.get(name) is not None}
    try:
        await turn.api.validate_applicant(turn.user, applicant)
    except FeatureUnavailable:
        return True  # an API without field validation: the final POST checks everything
    except ApiError as error:
        problem = error.errors[0]
        await turn.send(describe(problem, turn.lang, data.get("document_type")))
        wrong = STEP_FOR_FIELD.get(str(problem.get("field")), step)
        data.pop(str(problem.get("field")), None)
        log.info("field refused by the API", extra={"update_id": turn.update.update_id, "code": error.code,
                                                     "fields": [problem.get("field")]})
        await ask_step(turn, wrong)
        return False
    return True


async def on_skip(turn: Turn, field: str) -> None:
    """"No second surname" or "skip the e-mail"."""
    if field != turn.convo.current.value:
        await turn.answer("stale_button")
        return
    await turn.close_keyboard()
    turn.convo.data()[field] = "" if field == "second_surname" else None
    await advance(turn, turn.convo.current)


async def ask_step(turn: Turn, step: Step) -> None:
    """Ask for what `step` collects: buttons where the choice is closed, typed text where it is open."""
    convo = turn.convo
    convo.go(step)
    document = document_label(convo.data().get("document_type"), turn.lang)
    if step is Step.NATIONALITY:
        await turn.ask("ask.nationality", keyboard([turn.button("button.peruvian", "nat:PER")],
                                                   [turn.button("button.foreigner", "nat:foreign")]))
    elif step is Step.DOCUMENT_TYPE:
        await turn.ask("ask.document_type", keyboard(*[[turn.button(f"doc.{kind}", f"doc:{kind}")]
                                                       for kind in ("CE", "PTP", "PASSPORT")]))
    elif step is Step.COUNTRY:
        buttons = [InlineKeyboardButton(country_name(alpha2, turn.lang), callback_data=f"country:{alpha3}")
                   for alpha3, alpha2 in COUNTRY_BUTTONS]
        rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
        await turn.ask("ask.country", keyboard(*rows, [turn.button("button.other_country", "country:other")]))
    elif step is Step.SECOND_SURNAME:
        await turn.ask("ask.second_surname",
                       keyboard([turn.button("button.no_second_surname", "skip:second_surname")]))
    elif step is Step.EMAIL:
        await turn.ask("ask.email", keyboard([turn.button("button.skip", "skip:email")]))
    else:
        await turn.ask(f"ask.{step.value}", document=document)


async def advance(turn: Turn, done: Step) -> None:
    """After an answer: the next field, the next field to correct, or sending the request."""
    convo = turn.convo
    if convo.fixing is not None:
        remaining = [s for s in convo.fixing.split(",") if s and s != done.value]
        convo.fixing = ",".join(remaining) or None
        if remaining:
            await ask_step(turn, Step(remaining[0]))
        else:
            await submit_request(turn)
        return
    following = FIELD_STEPS[0] if done is Step.NATIONALITY else _after(done)
    if following is None:
        await submit_request(turn)
    else:
        await ask_step(turn, following)


def _after(step: Step) -> Step | None:
    index = FIELD_STEPS.index(step)
    return FIELD_STEPS[index + 1] if index + 1 < len(FIELD_STEPS) else None


async def submit_request(turn: Turn) -> None:
    """POST the request; the API's field errors send the person back to each wrong field."""
    convo = turn.convo
    data = convo.data()
    applicant = {name: data[name] for name in APPLICANT_FIELDS if data.get(name) is not None}
    body = {"applicant": applicant, "terms_accepted": True, "language": turn.lang}
    # The same Telegram update always carries the same key, so a redelivered update cannot make two requests.
    key = f"telegram-{turn.chat_id}-{turn.update.update_id}"
    try:
        created = await turn.api.create_request(turn.user, body, key)
    except ApiError as error:
        await show_field_errors(turn, error)
        return
    convo.forget_answers()  # the API has the data now; the chat state keeps none of it
    _follow(convo, created)
    await turn.say("request.created", number=created.get("number"))
    await ask_identity(turn)


async def show_field_errors(turn: Turn, error: ApiError) -> None:
    convo = turn.convo
    document_type = convo.data().get("document_type")
    problems = error.errors
    lines = [describe(problem, turn.lang, document_type) for problem in problems]
    if len(lines) == 1:
        await turn.send(lines[0])
    else:
        await turn.send("\n".join([turn.t("fix.intro"), *(f"• {line}" for line in lines)]))
    steps: list[Step] = []
    for problem in problems:
        step = STEP_FOR_FIELD.get(str(problem.get("field")))
        if step is not None and step not in steps:
            steps.append(step)
    order = [Step.NATIONALITY, *FIELD_STEPS]
    steps.sort(key=order.index)
    if not steps:  # nothing the person can correct field by field: start the data again
        steps = [Step.NATIONALITY]
    log.info("request refused by the API", extra={"update_id": turn.update.update_id, "code": error.code,
                                                   "fields": [p.get("field") for p in problems]})
    convo.fixing = ",".join(s.value for s in steps)
    await ask_step(turn, steps[0])


def _follow(convo: ConversationModel, request: dict[str, Any]) -> None:
    convo.request_id = request.get("request_id")
    convo.request_number = request.get("number")
    convo.document_type = (request.get("applicant") or {}).get("document_type")


# --- identity and payment -----------------------------------------------------------------------------------

async def continue_request(turn: Turn, request: dict[str, Any]) -> None:
    _follow(turn.convo, request)
    if request.get("status") == "pending_identity":
        await ask_identity(turn)
    elif request.get("status") == "awaiting_payment":
        await show_payment(turn, request)
    else:
        turn.convo.go(Step.IDLE)
        await show_status(turn, request)


async def ask_identity(turn: Turn) -> None:
    turn.convo.go(Step.IDENTITY)
    if turn.convo.document_type == "DNI":
        await turn.ask("ask.verification_character")
    else:
        await turn.ask("ask.issue_date", document=document_label(turn.convo.document_type, turn.lang))


async def on_identity(turn: Turn) -> None:
    """The DNI's verification character, or a foreign document's issue date."""
    convo = turn.convo
    if not convo.request_id:
        convo.go(Step.IDLE)
        await turn.say("idle")
        return
    body = ({"verification_character": turn.typed} if convo.document_type == "DNI"
            else {"issue_date": as_iso_date(turn.typed)})
    try:
        request = await turn.api.confirm_identity(turn.user, convo.request_id, body)
    except ApiError as error:
        if error.code == "identity_not_confirmed":
            left = error.details.get("attempts_left")
            if left == 0:
                await turn.say("identity.rejected", number=convo.request_number)
                convo.request_id = convo.request_number = convo.document_type = None
                convo.go(Step.IDLE)
            else:
                await turn.say("identity.failed", attempts=left if left is not None else "")
            return
        if error.code == "invalid_state":
            await show_current_state(turn)
            return
        await turn.send(describe(error.errors[0], turn.lang, convo.document_type))
        return
    await show_payment(turn, request)


async def show_payment(turn: Turn, request: dict[str, Any], *, take_over: bool = True) -> None:
    """The payment order: code, amount, expiry, the pay link and the bank-agent path. With take_over False
    (a status check), a conversation about something else stays where it was; the buttons still work."""
    payment = request.get("payment") or {}
    if take_over:
        _follow(turn.convo, request)
        turn.convo.go(Step.PAYMENT)
    rid = request["request_id"]
    body = turn.t("payment.order", number=request.get("number"), order_code=payment.get("order_code"),
                  amount=money(payment.get("amount", ""), payment.get("currency", "PEN")),
                  expires=lima_datetime(payment["expires_at"], turn.lang) if payment.get("expires_at") else "")
    agent = [turn.button("button.paid_at_agent", f"pay:agent:{rid}")]
    check = [turn.button("button.check_status", f"pay:status:{rid}")]
    url = payment.get("pay_url")
    if url:
        try:
            await turn.send(body, keyboard([InlineKeyboardButton(turn.t("button.pay_online"), url=url)],
                                           agent, check))
            return
        except BadRequest:
            # Telegram refuses URL buttons it cannot open (e.g. a local pay page): give the link as text.
            body = f"{body}\n\n{turn.t('payment.link', url=url)}"
    await turn.send(body, keyboard(agent, check))


async def on_payment_button(turn: Turn, value: str) -> None:
    """"I paid at an agent" (ask the voucher) or "check the status"; valid as long as the order is open."""
    action, _, rid = value.partition(":")
    if not rid:
        await turn.answer("stale_button")
        return
    request = await turn.api.get_request(turn.user, rid)
    if action == "agent" and request.get("status") == "awaiting_payment":
        _follow(turn.convo, request)
        turn.convo.go(Step.VOUCHER_OPERATION)
        await turn.ask("ask.operation_number")
        return
    await show_status(turn, request)


async def on_operation_number(turn: Turn) -> None:
    """The voucher's operation number; its date comes next."""
    turn.convo.data()["operation_number"] = turn.typed
    turn.convo.go(Step.VOUCHER_DATE)
    await turn.ask("ask.voucher_date")


async def on_voucher_date(turn: Turn) -> None:
    """The voucher's date: the API checks the voucher with the bank."""
    convo = turn.convo
    body = {"operation_number": convo.data().get("operation_number", ""), "date": as_iso_date(turn.typed)}
    try:
        request = await turn.api.submit_voucher(turn.user, str(convo.request_id), body)
    except ApiError as error:
        if error.code == "invalid_state":
            await show_current_state(turn)
            return
        await turn.send(describe(error.errors[0], turn.lang))
        if error.field == "date":
            await turn.ask("ask.voucher_date")
        else:
            convo.go(Step.VOUCHER_OPERATION)
            await turn.ask("ask.operation_number")
        return
    convo.forget_answers()
    convo.go(Step.FOLLOWING)
    await turn.say("payment.received", number=request.get("number"))


# --- status and the certificate -----------------------------------------------------------------------------

async def show_current_state(turn: Turn) -> None:
    if turn.convo.request_id:
        request = await turn.api.get_request(turn.user, turn.convo.request_id)
        await show_status(turn, request)
    else:
        await status(turn)


async def show_status(turn: Turn, request: dict[str, Any]) -> None:
    """A request's number and status, and what the person can do now."""
    state = str(request.get("status"))
    if state == "awaiting_payment" and request.get("payment"):
        idle = turn.convo.current in (Step.IDLE, Step.PAYMENT, Step.FOLLOWING)
        await show_payment(turn, request, take_over=idle or turn.convo.request_id == request.get("request_id"))
        return
    lines = [turn.t("status.summary", number=request.get("number"), status=status_label(state, turn.lang))]
    markup = None
    if has(f"status.next.{state}", turn.lang):
        lines.append(turn.t(f"status.next.{state}"))
    if state == "issued":
        markup = keyboard([turn.button("button.get_pdf", f"pdf:{request['request_id']}")])
    await turn.send("\n".join(lines), markup)


async def on_pdf(turn: Turn, rid: str) -> None:
    """Send the issued certificate as a document."""
    await turn.answer()
    request = await turn.api.get_request(turn.user, rid)
    pdf = await turn.api.document(turn.user, rid) if request.get("status") == "issued" else None
    if pdf is None:
        await turn.say("document.not_ready")
        return
    number = str(request.get("number") or "certificado")
    await turn.context.bot.send_document(turn.chat_id, InputFile(pdf, filename=f"certificado-{number}.pdf"),
                                         caption=turn.t("document.caption", number=number))


# --- dispatch of typed text and button presses --------------------------------------------------------------

TEXT_STEPS: dict[Step, Handler] = {
    Step.COUNTRY_CODE: on_country_code,
    Step.DOCUMENT_NUMBER: on_document_number,
    Step.GIVEN_NAMES: on_given_names,
    Step.FIRST_SURNAME: on_first_surname,
    Step.SECOND_SURNAME: on_second_surname,
    Step.BIRTH_DATE: on_birth_date,
    Step.EMAIL: on_email,
    Step.IDENTITY: on_identity,
    Step.VOUCHER_OPERATION: on_operation_number,
    Step.VOUCHER_DATE: on_voucher_date,
}
BUTTON_STEPS = frozenset({Step.LANGUAGE, Step.RESUME, Step.TERMS, Step.NATIONALITY, Step.DOCUMENT_TYPE,
                          Step.COUNTRY, Step.PAYMENT})

# Steps that wait for something other than typed text: what to tell a person who types instead.
STEP_PROMPTS: dict[Step, str] = {}

ButtonHandler = Callable[[Turn, str], Awaitable[None]]
# prefix -> (handler, the step its keyboard belongs to; None: valid whenever the API says it is)
BUTTONS: dict[str, tuple[ButtonHandler, frozenset[Step] | None]] = {
    "lang": (on_language, frozenset({Step.LANGUAGE})),
    "resume": (on_resume, frozenset({Step.RESUME})),
    "terms": (on_terms, frozenset({Step.TERMS})),
    "nat": (on_nationality, frozenset({Step.NATIONALITY})),
    "doc": (on_document_type, frozenset({Step.DOCUMENT_TYPE})),
    "country": (on_country, frozenset({Step.COUNTRY})),
    "skip": (on_skip, frozenset({Step.SECOND_SURNAME, Step.EMAIL})),
    "pay": (on_payment_button, None),
    "pdf": (on_pdf, None),
}


async def on_text(turn: Turn) -> None:
    """Typed text goes to the step that expects it; elsewhere the person is told what to do."""
    handler = TEXT_STEPS.get(turn.convo.current)
    if handler is not None:
        await handler(turn)
    elif turn.convo.current in STEP_PROMPTS:
        await turn.say(STEP_PROMPTS[turn.convo.current])
    elif turn.convo.current in BUTTON_STEPS:
        await turn.say("use_buttons")
    else:
        await turn.say("idle")


async def on_button(turn: Turn) -> None:
    """A button press; one from an older message or another step is answered as stale and changes nothing."""
    query = turn.update.callback_query
    assert query is not None
    prefix, _, value = (query.data or "").partition(":")
    entry = BUTTONS.get(prefix)
    pressed_on = query.message.message_id if query.message else None
    if entry is not None:
        handler, steps = entry
        live = steps is None or (turn.convo.current in steps and pressed_on == turn.convo.prompt_message_id)
        if live:
            await handler(turn, value)
            return
    log.info("stale button", extra={"update_id": turn.update.update_id, "button": prefix})
    await turn.answer("stale_button")


async def on_unsupported(turn: Turn) -> None:
    """Stickers, voice notes, locations…: nothing in this conversation uses them."""
    await turn.say("unsupported")
