"""Virtual penal control in the chat: the enrolment form (annex 1) and the check-in (annex 3).

The API runs the protocol: every answer names the next `step` and the protocol `message` to show. The bot
collects what the person sends (typed data, a shared contact, a live location, a selfie or round video,
answers to questions), sends it on, and renders the message the API names. It never decides an outcome, so
a check-in with a possible warrant reads exactly as any other.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from telegram import KeyboardButton, Message, ReplyKeyboardMarkup, ReplyKeyboardRemove

from . import conversation as c
from .api_client import ApiError
from .errors import describe
from .state import Step
from .texts import LIMA, has, text

log = logging.getLogger("bot")

MAX_MEDIA_BYTES = 5 * 1024 * 1024
ENROLMENT_STEPS = (Step.CONTROL_MOBILE, Step.CONTROL_HAS_DOCUMENT, Step.CONTROL_NATIONALITY,
                   Step.CONTROL_DOCUMENT_TYPE, Step.CONTROL_DOCUMENT_NUMBER, Step.CONTROL_GIVEN_NAMES,
                   Step.CONTROL_SURNAMES, Step.CONTROL_ADDRESS)
# The API's enrolment fields (parse_person names some "person.<field>") and the step that asks each.
STEP_FOR_FIELD = {"mobile": Step.CONTROL_MOBILE, "has_document": Step.CONTROL_HAS_DOCUMENT,
                  "nationality": Step.CONTROL_NATIONALITY, "document_type": Step.CONTROL_DOCUMENT_TYPE,
                  "document_number": Step.CONTROL_DOCUMENT_NUMBER, "given_names": Step.CONTROL_GIVEN_NAMES,
                  "surnames": Step.CONTROL_SURNAMES, "address": Step.CONTROL_ADDRESS,
                  "district": Step.CONTROL_DISTRICT}
# Refusals the person cannot put right by retyping a field: told once, the form ends.
FINAL_ENROLMENT_CODES = frozenset({"measure_linked_elsewhere", "chat_linked_to_other_person"})
DATE_QUESTIONS = frozenset({"dni_issue_date", "dni_expiry_date", "resolution_date"})
LOCATION_STEPS = frozenset({Step.CHECKIN_LOCATION, Step.CHECKIN_FRESH_LOCATION})
# Refusals of a location the person can put right by sharing their own live location now.
LOCATION_CODES = frozenset({"location_not_live", "location_forwarded", "location_stale"})


def _field(error: dict[str, Any]) -> dict[str, Any]:
    field = str(error.get("field") or "")
    return {**error, "field": field.removeprefix("person.") or None}


def _name(turn: c.Turn) -> str:
    """The name on the court's record, as the API gives it; the protocol texts address the person by it."""
    return str(turn.convo.control_name or "")


def greeting_key(now: datetime | None = None) -> str:
    """Annex 3 (a) greets by the time of day in Peru: good morning, afternoon or evening."""
    hour = (now or datetime.now(LIMA)).astimezone(LIMA).hour
    return "greeting.morning" if 5 <= hour < 12 else "greeting.afternoon" if 12 <= hour < 19 else "greeting.evening"


def window_dates(window: dict[str, Any] | None, lang: str) -> dict[str, str]:
    from babel.dates import format_date

    if not window:
        return {"start": "", "end": ""}
    return {edge: format_date(date.fromisoformat(window[edge]), "d MMM y", locale=lang) for edge in ("start", "end")}


async def _send_reply_keyboard(turn: c.Turn, key: str, markup: ReplyKeyboardMarkup | ReplyKeyboardRemove,
                               **values: Any) -> Message:
    return await turn.context.bot.send_message(turn.chat_id, turn.t(key, **values), reply_markup=markup)


# --- enrolment (annex 1) ------------------------------------------------------------------------------------

async def enrolment(turn: c.Turn) -> None:
    """/control: the enrolment form, field by field."""
    convo = turn.convo
    convo.forget_answers()
    convo.language = turn.lang
    await turn.say("control.intro")
    await ask(turn, Step.CONTROL_MOBILE)


async def ask(turn: c.Turn, step: Step) -> None:
    convo = turn.convo
    convo.go(step)
    if step is Step.CONTROL_MOBILE:
        share = ReplyKeyboardMarkup([[KeyboardButton(turn.t("button.share_contact"), request_contact=True)]],
                                    resize_keyboard=True, one_time_keyboard=True)
        await _send_reply_keyboard(turn, "control.ask.mobile", share)
        convo.prompt_message_id = None
    elif step is Step.CONTROL_HAS_DOCUMENT:
        await turn.ask("control.ask.has_document", c.keyboard([turn.button("button.yes", "ctldoc:yes")],
                                                              [turn.button("button.no", "ctldoc:no")]))
    elif step is Step.CONTROL_NATIONALITY:
        await turn.ask("control.ask.nationality", c.keyboard([turn.button("button.peruvian_nat", "ctlnat:PER")],
                                                             [turn.button("button.other_country", "ctlnat:other")]))
    elif step is Step.CONTROL_DOCUMENT_TYPE:
        await turn.ask("ask.document_type", c.keyboard(*[[turn.button(f"doc.{kind}", f"ctltype:{kind}")]
                                                         for kind in ("DNI", "CE", "PTP", "PASSPORT")]))
    elif step is Step.CONTROL_COUNTRY_CODE:
        await turn.ask("ask.country_code")
    elif step is Step.CONTROL_DOCUMENT_NUMBER:
        document_type = turn.convo.data().get("document_type")
        await turn.ask("ask.document_number", document=text(f"doc.{document_type}", turn.lang))
    else:
        await turn.ask(f"control.ask.{step.value.removeprefix('control_')}")


async def advance(turn: c.Turn, done: Step) -> None:
    """The next field of the form, the next one to correct, or the enrolment itself."""
    convo = turn.convo
    data = convo.data()
    if convo.fixing is not None:
        remaining = [s for s in convo.fixing.split(",") if s and s != done.value]
        convo.fixing = ",".join(remaining) or None
        if remaining:
            await ask(turn, Step(remaining[0]))
        else:
            await submit(turn)
        return
    order = list(ENROLMENT_STEPS)
    if not data.get("has_document"):
        order = [s for s in order if s not in (Step.CONTROL_DOCUMENT_TYPE, Step.CONTROL_DOCUMENT_NUMBER)]
    position = order.index(Step.CONTROL_NATIONALITY if done is Step.CONTROL_COUNTRY_CODE else done)
    if position + 1 < len(order):
        await ask(turn, order[position + 1])
    else:
        await submit(turn)


async def on_contact(turn: c.Turn) -> None:
    """The person's own contact, shared with the button: its number is the mobile of the form."""
    message = turn.update.effective_message
    user = turn.update.effective_user
    if turn.convo.current is not Step.CONTROL_MOBILE or message is None or message.contact is None:
        await c.on_unsupported(turn)
        return
    if message.contact.user_id is not None and user is not None and message.contact.user_id != user.id:
        await _send_reply_keyboard(turn, "control.contact_not_own", ReplyKeyboardRemove())
        await ask(turn, Step.CONTROL_MOBILE)
        return
    number = message.contact.phone_number.replace(" ", "")
    turn.convo.data()["mobile"] = number if number.startswith("+") else f"+{number}"
    await _send_reply_keyboard(turn, "control.mobile_received", ReplyKeyboardRemove())
    await advance(turn, Step.CONTROL_MOBILE)


async def on_mobile(turn: c.Turn) -> None:
    turn.convo.data()["mobile"] = turn.typed.replace(" ", "")
    await _send_reply_keyboard(turn, "control.mobile_received", ReplyKeyboardRemove())
    await advance(turn, Step.CONTROL_MOBILE)


async def on_has_document(turn: c.Turn, choice: str) -> None:
    await turn.close_keyboard()
    data = turn.convo.data()
    data["has_document"] = choice == "yes"
    if not data["has_document"]:
        data.pop("document_type", None)
        data.pop("document_number", None)
    await advance(turn, Step.CONTROL_HAS_DOCUMENT)


async def on_nationality(turn: c.Turn, choice: str) -> None:
    await turn.close_keyboard()
    if choice == "other":
        await ask(turn, Step.CONTROL_COUNTRY_CODE)
        return
    turn.convo.data()["nationality"] = "PER"
    await advance(turn, Step.CONTROL_NATIONALITY)


async def on_country_code(turn: c.Turn) -> None:
    turn.convo.data()["nationality"] = turn.typed.upper()
    await advance(turn, Step.CONTROL_COUNTRY_CODE)


async def on_document_type(turn: c.Turn, choice: str) -> None:
    await turn.close_keyboard()
    turn.convo.data()["document_type"] = choice
    await advance(turn, Step.CONTROL_DOCUMENT_TYPE)


def _typed(step: Step, field: str) -> c.Handler:
    async def handler(turn: c.Turn) -> None:
        turn.convo.data()[field] = turn.typed
        await advance(turn, step)

    handler.__doc__ = f"The enrolment's {field}, as typed."
    return handler


async def submit(turn: c.Turn) -> None:
    """POST the enrolment; a refused field is asked again, then the enrolment is sent again."""
    convo = turn.convo
    data = convo.data()
    body = {name: data[name] for name in ("mobile", "has_document", "nationality", "document_type",
                                          "document_number", "given_names", "surnames", "address", "district")
            if data.get(name) is not None}
    body["language"] = turn.lang
    try:
        enrolled = await turn.api.enrol(turn.user, body)
    except ApiError as error:
        await _enrolment_refused(turn, error)
        return
    convo.control_name = str(enrolled.get("name") or "")
    convo.forget_answers()  # the API has the form now
    convo.data().update(first_window=enrolled.get("first_window"), status=enrolled.get("status"))
    if enrolled.get("needs_photo") and not enrolled.get("has_photo"):
        convo.go(Step.CONTROL_PHOTO)
        await turn.ask("control.ask.photo")
        return
    await enrolled_message(turn, enrolled.get("first_window"))


async def _enrolment_refused(turn: c.Turn, error: ApiError) -> None:
    convo = turn.convo
    data = convo.data()
    details = error.details if isinstance(error.details, dict) else {}
    log.info("enrolment refused by the API", extra={"update_id": turn.update.update_id, "code": error.code})
    if error.code in FINAL_ENROLMENT_CODES:
        await turn.send(describe(_field(error.errors[0]), turn.lang, court=details.get("court", "")))
        convo.forget_answers()
        convo.go(Step.IDLE)
        return
    if error.code == "no_measure" and details.get("queued"):
        # The CVP head of the district asks the court for the measure; the person is told here when it exists.
        await turn.say("control.unmatched_queued", district=str(details.get("district", "")).title())
        convo.forget_answers()
        convo.go(Step.IDLE)
        return
    problems = [_field(problem) for problem in error.errors]
    await turn.send("\n".join(describe(p, turn.lang, data.get("document_type")) for p in problems))
    if error.code == "no_measure" and details.get("district_needed"):
        await ask(turn, Step.CONTROL_DISTRICT)
        return
    steps = [STEP_FOR_FIELD[str(p["field"])] for p in problems if p.get("field") in STEP_FOR_FIELD]
    if error.code == "names_mismatch":
        steps = [Step.CONTROL_GIVEN_NAMES, Step.CONTROL_SURNAMES]
    elif not steps:
        steps = [Step.CONTROL_MOBILE]
    order = [*ENROLMENT_STEPS, Step.CONTROL_DISTRICT]
    steps = sorted(set(steps), key=order.index)
    convo.fixing = ",".join(s.value for s in steps)
    await ask(turn, steps[0])


async def on_district(turn: c.Turn) -> None:
    """The judicial district of the court, asked only when no measure was found: the request goes there."""
    turn.convo.data()["district"] = turn.typed
    await submit(turn)


async def enrolled_message(turn: c.Turn, window: dict[str, Any] | None) -> None:
    """Annex 2 (d), with the first window in which to register; or, for an enrolment by name only, that an
    officer will call to confirm who they are."""
    pending = turn.convo.data().get("status") == "pending_confirmation"
    turn.convo.forget_answers()
    turn.convo.go(Step.IDLE)
    if pending:
        await turn.say("control.enrolment_pending", name=_name(turn))
        return
    key = "control.annex2.d" if window else "control.annex2.d.no_window"
    await turn.say(key, name=_name(turn), **window_dates(window, turn.lang))


async def on_enrolment_photo(turn: c.Turn) -> None:
    media = await _download(turn)
    if media is None:
        return
    try:
        await turn.api.enrolment_photo(turn.user, media[0])
    except ApiError as error:
        await turn.send(describe(_field(error.errors[0]), turn.lang))
        await turn.ask("control.ask.photo")
        return
    await enrolled_message(turn, turn.convo.data().get("first_window"))


# --- check-in (annex 3) -------------------------------------------------------------------------------------

async def checkin(turn: c.Turn) -> None:
    """/registrar: open a check-in and ask for the live location."""
    convo = turn.convo
    try:
        started = await turn.api.start_checkin(turn.user)
    except ApiError as error:
        next_window = error.details.get("next_window") if isinstance(error.details, dict) else None
        await turn.send(describe(_field(error.errors[0]), turn.lang, **window_dates(next_window, turn.lang)))
        return
    convo.forget_answers()
    convo.control_name = str(started.get("name") or convo.control_name or "")
    convo.data()["checkin_id"] = started["checkin_id"]
    convo.go(Step.CHECKIN_LOCATION)
    # Annex 3 (a): the greeting in the name of the district's Corte Superior, the person by their name.
    await turn.say("checkin.share_live_location", name=_name(turn), court=str(started.get("court") or ""),
                   greeting=turn.t(greeting_key()))


async def on_location(turn: c.Turn) -> None:
    """A location: sent on when the check-in waits for one; a live location's updates arrive as edits."""
    message = turn.update.effective_message
    edited = turn.update.edited_message is not None
    step = turn.convo.current
    if message is None or message.location is None:
        return
    if step not in LOCATION_STEPS or (edited and step is Step.CHECKIN_FRESH_LOCATION):
        if not edited:  # updates of a live location shared earlier change nothing elsewhere
            await turn.say("checkin.location_not_expected")
        return
    location = message.location
    moment = message.edit_date if edited and message.edit_date else message.date
    body: dict[str, Any] = {"latitude": location.latitude, "longitude": location.longitude,
                            # read from the raw object: PTB 22 warns that the attribute becomes a timedelta
                            "live_period": location.to_dict().get("live_period"), "sent_at": moment.timestamp(),
                            "forwarded": bool(message.forward_origin)}
    if location.horizontal_accuracy is not None:
        body["accuracy_m"] = location.horizontal_accuracy
    try:
        result = await turn.api.checkin_location(turn.user, str(turn.convo.data().get("checkin_id")), body)
    except ApiError as error:
        await _checkin_refused(turn, error)
        return
    await show_outcome(turn, result)


async def on_selfie(turn: c.Turn) -> None:
    """The check-in's selfie (a photo) or round video (a video note)."""
    media = await _download(turn)
    if media is None:
        return
    image, kind = media
    try:
        result = await turn.api.checkin_selfie(turn.user, str(turn.convo.data().get("checkin_id")), image, kind)
    except ApiError as error:
        await _checkin_refused(turn, error)
        return
    await show_outcome(turn, result)


async def on_answer(turn: c.Turn) -> None:
    """One answer to the annex 3 (b) questions; the last one sends them all."""
    data = turn.convo.data()
    questions: list[str] = list(data.get("questions") or [])
    answers: dict[str, str] = dict(data.get("answers") or {})
    pending = [q for q in questions if q not in answers]
    if not pending:
        return
    question = pending[0]
    answers[question] = c.as_iso_date(turn.typed) if question in DATE_QUESTIONS else turn.typed
    data["answers"] = answers
    if len(pending) > 1:
        await turn.ask(f"question.{pending[1]}")
        return
    try:
        result = await turn.api.checkin_answers(turn.user, str(data.get("checkin_id")), answers)
    except ApiError as error:
        if error.code == "missing_field" and error.field in questions:
            answers.pop(str(error.field), None)
            data["answers"] = answers
            await turn.ask(f"question.{error.field}")
            return
        await _checkin_refused(turn, error)
        return
    await show_outcome(turn, result)


async def _checkin_refused(turn: c.Turn, error: ApiError) -> None:
    log.info("check-in step refused", extra={"update_id": turn.update.update_id, "code": error.code})
    await turn.send(describe(_field(error.errors[0]), turn.lang))
    if error.code in LOCATION_CODES:
        return  # the step stays: the person shares their live location again
    if error.code == "wrong_step" or error.status == 404 or error.code == "measure_not_active":
        turn.convo.forget_answers()
        turn.convo.go(Step.IDLE)


async def show_outcome(turn: c.Turn, result: dict[str, Any]) -> None:
    """Render what the API answered: the next step, or the protocol message that ends the check-in."""
    convo = turn.convo
    data = convo.data()
    message = str(result.get("message") or "")
    step = str(result.get("step") or "")
    name = _name(turn)
    if result.get("name"):
        convo.control_name = str(result["name"])
        name = _name(turn)
    if message in ("annex3.f", "annex3.c", "annex3.e", "annex5", "review") or step in ("done", "ended", "review"):
        convo.forget_answers()
        convo.go(Step.IDLE)
        key = f"control.{message}" if has(f"control.{message}", turn.lang) else "control.ended"
        if message == "annex3.f" and not result.get("next_window"):
            key = "control.annex3.f.no_window"
        await turn.say(key, name=name, **window_dates(result.get("next_window"), turn.lang))
        return
    if step == "selfie":
        convo.go(Step.CHECKIN_SELFIE)
        await turn.say("checkin.ask_selfie")
    elif step == "questions":
        questions = [str(q) for q in result.get("questions") or []]
        data.update(questions=questions, answers={})
        convo.go(Step.CHECKIN_QUESTIONS)
        if message == "questions_retry":
            await turn.say("control.questions_retry", name=name, attempts=str(result.get("attempts_left", "")))
        else:
            await turn.say("checkin.questions_intro", name=name)
        await turn.ask(f"question.{questions[0]}")
    elif step == "fresh_location":
        convo.go(Step.CHECKIN_FRESH_LOCATION)
        place = result.get("place") or {}
        await turn.say("control.annex3.d", place=str(place.get("label") or ""))
        if place.get("latitude") is not None and place.get("longitude") is not None:
            await turn.context.bot.send_location(turn.chat_id, latitude=float(place["latitude"]),
                                                 longitude=float(place["longitude"]))
    else:
        log.warning("unexpected check-in answer", extra={"update_id": turn.update.update_id, "step": step})
        convo.go(Step.IDLE)
        await turn.say("control.ended", name=name)


# --- media ------------------------------------------------------------------------------------------------

async def _download(turn: c.Turn) -> tuple[bytes, str] | None:
    """The largest size of a photo, or a round video, from Telegram's servers."""
    message = turn.update.effective_message
    if message is None:
        return None
    if message.photo:
        file_id, size, kind = message.photo[-1].file_id, message.photo[-1].file_size, "photo"
    elif message.video_note:
        file_id, size, kind = message.video_note.file_id, message.video_note.file_size, "video_note"
    else:
        return None
    if size and size > MAX_MEDIA_BYTES:
        await turn.say("verify.too_large")
        return None
    telegram_file = await turn.context.bot.get_file(file_id)
    return bytes(await telegram_file.download_as_bytearray()), kind


async def on_media(turn: c.Turn) -> None:
    """A photo or a round video: for the step that waits for one; other photos go to QR verification."""
    from .verification import on_photo

    step = turn.convo.current
    if step is Step.CONTROL_PHOTO:
        await on_enrolment_photo(turn)
    elif step is Step.CHECKIN_SELFIE:
        await on_selfie(turn)
    elif turn.update.effective_message is not None and turn.update.effective_message.photo:
        await on_photo(turn)
    else:
        await c.on_unsupported(turn)


def register_steps() -> None:
    """Add the control steps to the conversation's dispatch tables."""
    c.TEXT_STEPS.update({
        Step.CONTROL_MOBILE: on_mobile,
        Step.CONTROL_COUNTRY_CODE: on_country_code,
        Step.CONTROL_DOCUMENT_NUMBER: _typed(Step.CONTROL_DOCUMENT_NUMBER, "document_number"),
        Step.CONTROL_GIVEN_NAMES: _typed(Step.CONTROL_GIVEN_NAMES, "given_names"),
        Step.CONTROL_SURNAMES: _typed(Step.CONTROL_SURNAMES, "surnames"),
        Step.CONTROL_ADDRESS: _typed(Step.CONTROL_ADDRESS, "address"),
        Step.CONTROL_DISTRICT: on_district,
        Step.CHECKIN_QUESTIONS: on_answer,
    })
    c.BUTTONS.update({
        "ctldoc": (on_has_document, frozenset({Step.CONTROL_HAS_DOCUMENT})),
        "ctlnat": (on_nationality, frozenset({Step.CONTROL_NATIONALITY})),
        "ctltype": (on_document_type, frozenset({Step.CONTROL_DOCUMENT_TYPE})),
    })
    c.STEP_PROMPTS.update({
        Step.CONTROL_HAS_DOCUMENT: "use_buttons", Step.CONTROL_NATIONALITY: "use_buttons",
        Step.CONTROL_DOCUMENT_TYPE: "use_buttons", Step.CONTROL_PHOTO: "control.ask.photo",
        Step.CHECKIN_LOCATION: "checkin.location_expected", Step.CHECKIN_FRESH_LOCATION: "checkin.location_expected",
        Step.CHECKIN_SELFIE: "checkin.ask_selfie",
    })
