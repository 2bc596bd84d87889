"""The certificate request in the chat: guide and terms, the applicant's data field by field, the summary with
"correct" or "change one detail", and registering the request. Identity, payment and status: bot/following.py.

The language is the person's Telegram language (a button on the terms switches it), and the e-mail is offered
on the summary rather than asked: the clean path asks only what the request needs.
"""

from __future__ import annotations

import logging
from datetime import date

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from . import conversation as c
from . import following
from .api_client import ApiError, FeatureUnavailable
from .countries import country_label, resolve_country
from .errors import describe, document_label
from .state import Step
from .texts import COUNTRY_BUTTONS, LANGUAGES, country_name, money

log = logging.getLogger("bot")

APPLICANT_FIELDS = ("nationality", "document_type", "document_number", "given_names", "first_surname",
                    "second_surname", "birth_date", "email")
# The typed fields in the order the clean path asks them; the e-mail is offered on the summary.
FIELD_STEPS = (Step.DOCUMENT_NUMBER, Step.GIVEN_NAMES, Step.FIRST_SURNAME, Step.SECOND_SURNAME, Step.BIRTH_DATE)
STEP_FOR_FIELD = {"nationality": Step.NATIONALITY, "document_type": Step.NATIONALITY,
                  "email": Step.EMAIL, **{step.value: step for step in FIELD_STEPS}}
# What "change one detail" offers, in the summary's order.
CHANGEABLE = (Step.NATIONALITY, Step.DOCUMENT_NUMBER, Step.GIVEN_NAMES, Step.FIRST_SURNAME, Step.SECOND_SURNAME,
              Step.BIRTH_DATE, Step.EMAIL)
SUMMARY = "summary"  # the last entry of `fixing`: once the corrected fields are in, the summary again


# --- /start, language, resume, guide and terms -------------------------------------------------------------

async def start(turn: c.Turn) -> None:
    """/start: a deep link's payload resumes a request or opens a verification; otherwise a fresh request in
    the person's Telegram language (switchable on the terms), or the offer to continue an open one."""
    if turn.command_args:
        await following.deep_link(turn, turn.command_args[0])
        return
    convo = turn.convo
    convo.forget_answers()
    convo.request_id = convo.request_number = convo.document_type = None
    convo.language = turn.lang
    latest = await turn.api.latest_request(turn.user)
    if latest and latest.get("status") in following.OPEN_STATUSES:
        following.follow(convo, latest)
        convo.go(Step.RESUME)
        await turn.ask("resume.found", c.keyboard([turn.button("button.resume", "resume:continue")],
                                                  [turn.button("button.new_request", "resume:new")]),
                       number=latest.get("number"), status=c.status_label(latest["status"], turn.lang))
        return
    await show_guide(turn)


async def on_language(turn: c.Turn, choice: str) -> None:
    """The language button on the terms: the guide and the terms again, in the other language."""
    turn.convo.language = choice if choice in LANGUAGES else turn.lang
    await turn.close_keyboard()
    await show_guide(turn)


async def on_resume(turn: c.Turn, choice: str) -> None:
    """Continue the open request where it stopped, or start a new one."""
    await turn.close_keyboard()
    if choice == "continue" and turn.convo.request_id:
        request = await turn.api.get_request(turn.user, turn.convo.request_id)
        await following.continue_request(turn, request)
        return
    turn.convo.request_id = turn.convo.request_number = turn.convo.document_type = None
    await show_guide(turn)


async def show_guide(turn: c.Turn) -> None:
    await turn.send(f"{turn.t('welcome')}\n\n{turn.t('guide', fee=money(turn.services.settings.certificate_fee))}")
    turn.convo.go(Step.TERMS)
    other = "en" if turn.lang == "es" else "es"
    await turn.ask("terms", c.keyboard([turn.button("button.accept", "terms:yes")],
                                       [turn.button("button.decline", "terms:no")],
                                       [turn.button(f"button.switch.{other}", f"lang:{other}")]))


async def on_terms(turn: c.Turn, choice: str) -> None:
    """Terms accepted (ask the nationality) or declined (stop)."""
    await turn.close_keyboard()
    if choice != "yes":
        turn.convo.forget_answers()
        turn.convo.go(Step.IDLE)
        await turn.say("terms.declined")
        return
    turn.convo.data()["terms_accepted"] = True
    await ask_step(turn, Step.NATIONALITY)


# --- the applicant's data -------------------------------------------------------------------------------------

async def on_nationality(turn: c.Turn, choice: str) -> None:
    """Peruvians apply with their DNI; foreigners choose their document next."""
    await turn.close_keyboard()
    data = turn.convo.data()
    if choice == "PER":
        data.update(nationality="PER", document_type="DNI")
        await advance(turn, Step.NATIONALITY)
        return
    data.pop("nationality", None)
    await ask_step(turn, Step.DOCUMENT_TYPE)


async def on_document_type(turn: c.Turn, choice: str) -> None:
    """A foreigner's document type; then their country."""
    await turn.close_keyboard()
    turn.convo.data()["document_type"] = choice
    await ask_step(turn, Step.COUNTRY)


async def on_country(turn: c.Turn, choice: str) -> None:
    """A country from the buttons, or "other" to type it."""
    await turn.close_keyboard()
    if choice == "other":
        await ask_step(turn, Step.COUNTRY_CODE)
        return
    turn.convo.data()["nationality"] = choice
    await advance(turn, Step.NATIONALITY)


async def on_country_code(turn: c.Turn) -> None:
    """A typed country, by name or code ("Vietnam", "VNM"): checked by the API at once, so a wrong one is asked
    again on its own, before the document number, with the document type kept."""
    turn.convo.data()["nationality"] = resolve_country(turn.typed)
    if await field_accepted(turn, Step.COUNTRY_CODE, ("nationality",)):
        await advance(turn, Step.NATIONALITY)


def _typed_field(step: Step, *depends_on: str) -> c.Handler:
    """A handler for a field typed as it is (names, the number, the e-mail): stored, checked, then onwards."""

    async def handler(turn: c.Turn) -> None:
        value = following.as_iso_date(turn.typed) if step is Step.BIRTH_DATE else turn.typed
        turn.convo.data()[step.value] = value
        if await field_accepted(turn, step, (*depends_on, step.value)):
            await advance(turn, step)

    handler.__name__ = f"on_{step.value}"
    return handler


async def field_accepted(turn: c.Turn, step: Step, fields: tuple[str, ...]) -> bool:
    """Ask the API about the field just typed (with the fields it depends on), so a mistake is told at once, in
    one message that is also the question again; the final POST stays the authority."""
    data = turn.convo.data()
    applicant = {name: data[name] for name in fields if data.get(name) is not None}
    try:
        await turn.api.validate_applicant(turn.user, applicant)
    except FeatureUnavailable:
        return True  # an API without field validation: the final POST checks everything
    except ApiError as error:
        problem = error.errors[0]
        field = str(problem.get("field"))
        # The step just answered asks again for its own field; a field it depends on has its own step.
        wrong = step if field in (step.value, "nationality" if step is Step.COUNTRY_CODE else "") \
            else STEP_FOR_FIELD.get(field, step)
        data.pop(field if wrong is not step else (fields[-1]), None)
        log.info("field refused by the API", extra={"update_id": turn.update.update_id, "code": error.code,
                                                     "fields": [field]})
        await ask_step(turn, wrong, error=describe(problem, turn.lang, data.get("document_type")))
        return False
    return True


async def on_skip(turn: c.Turn, field: str) -> None:
    """"No second surname" or "no e-mail"."""
    if field != turn.convo.current.value:
        await turn.answer("stale_button")
        return
    await turn.close_keyboard()
    turn.convo.data()[field] = "" if field == "second_surname" else None
    await advance(turn, turn.convo.current)


async def ask_step(turn: c.Turn, step: Step, *, error: str | None = None) -> None:
    """Ask for what `step` collects: buttons where the choice is closed, typed text where it is open. With
    `error`, that message is the question (it says what was wrong and what to type)."""
    convo = turn.convo
    convo.go(step)
    document = document_label(convo.data().get("document_type"), turn.lang)
    markup: InlineKeyboardMarkup | None = None
    if step is Step.NATIONALITY:
        markup = c.keyboard([turn.button("button.peruvian", "nat:PER")],
                            [turn.button("button.foreigner", "nat:foreign")])
    elif step is Step.DOCUMENT_TYPE:
        markup = c.keyboard(*[[turn.button(f"doc.{kind}", f"doc:{kind}")] for kind in ("CE", "PTP", "PASSPORT")])
    elif step is Step.COUNTRY:
        buttons = [InlineKeyboardButton(country_name(alpha2, turn.lang), callback_data=f"country:{alpha3}")
                   for alpha3, alpha2 in COUNTRY_BUTTONS]
        rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
        markup = c.keyboard(*rows, [turn.button("button.other_country", "country:other")])
    elif step is Step.SECOND_SURNAME:
        markup = c.keyboard([turn.button("button.no_second_surname", "skip:second_surname")])
    elif step is Step.EMAIL:
        markup = c.keyboard([turn.button("button.no_email", "skip:email")])
    await turn.prompt(error or turn.t(f"ask.{step.value}", document=document), markup)


async def advance(turn: c.Turn, done: Step) -> None:
    """After an answer: the next field, the next field to correct, or the summary."""
    convo = turn.convo
    if convo.fixing is not None:
        remaining = [s for s in convo.fixing.split(",") if s and s != done.value]
        convo.fixing = ",".join(remaining) or None
        following_step = remaining[0] if remaining else SUMMARY
        if following_step == SUMMARY:
            convo.fixing = None
            await show_summary(turn)
        else:
            await ask_step(turn, Step(following_step))
        return
    if done is Step.NATIONALITY:
        await ask_step(turn, FIELD_STEPS[0])
    elif done in FIELD_STEPS and FIELD_STEPS.index(done) + 1 < len(FIELD_STEPS):
        await ask_step(turn, FIELD_STEPS[FIELD_STEPS.index(done) + 1])
    else:
        await show_summary(turn)


# --- the summary: correct, or change one detail ----------------------------------------------------------------

def _birth(value: str | None) -> str:
    try:
        return date.fromisoformat(value or "").strftime("%d/%m/%Y")
    except ValueError:
        return value or ""


async def show_summary(turn: c.Turn) -> None:
    """Everything typed, shown back before anything is registered."""
    data = turn.convo.data()
    turn.convo.go(Step.SUMMARY)
    nationality = turn.t("summary.peruvian") if data.get("nationality") == "PER" else \
        country_label(data.get("nationality"), turn.lang)
    body = turn.t("summary", nationality=nationality,
                  document=f"{document_label(data.get('document_type'), turn.lang)} {data.get('document_number', '')}",
                  given_names=data.get("given_names", ""),
                  surnames=" ".join(p for p in (data.get("first_surname"), data.get("second_surname")) if p),
                  birth_date=_birth(data.get("birth_date")),
                  email=data.get("email") or turn.t("summary.no_email"))
    email_button = "button.change_email" if data.get("email") else "button.add_email"
    await turn.prompt(body, c.keyboard([turn.button("button.confirm", "sum:ok")],
                                       [turn.button("button.change", "sum:change")],
                                       [turn.button(email_button, "sum:email")]))


async def on_summary(turn: c.Turn, choice: str) -> None:
    await turn.close_keyboard()
    if choice == "ok":
        await submit_request(turn)
    elif choice == "email":
        turn.convo.fixing = SUMMARY
        await ask_step(turn, Step.EMAIL)
    else:
        turn.convo.go(Step.CHANGE_FIELD)
        rows = [[turn.button(f"change.{step.value}", f"fix:{step.value}")] for step in CHANGEABLE]
        await turn.ask("ask.change", c.keyboard(*rows, [turn.button("button.back", "fix:back")]))


async def on_change(turn: c.Turn, choice: str) -> None:
    """One detail asked again on its own; a new nationality may change the document, so its number follows."""
    await turn.close_keyboard()
    if choice == "back" or choice not in {step.value for step in CHANGEABLE}:
        await show_summary(turn)
        return
    step = Step(choice)
    turn.convo.fixing = f"{Step.DOCUMENT_NUMBER.value},{SUMMARY}" if step is Step.NATIONALITY else SUMMARY
    await ask_step(turn, step)


async def submit_request(turn: c.Turn) -> None:
    """POST the request; the API's field errors send the person back to each wrong field, then the summary."""
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
    following.follow(convo, created)
    await following.ask_identity(turn, created=created)


async def show_field_errors(turn: c.Turn, error: ApiError) -> None:
    convo = turn.convo
    document_type = convo.data().get("document_type")
    problems = error.errors
    lines = [describe(problem, turn.lang, document_type) for problem in problems]
    steps: list[Step] = []
    for problem in problems:
        step = STEP_FOR_FIELD.get(str(problem.get("field")))
        if step is not None and step not in steps:
            steps.append(step)
    order = [Step.NATIONALITY, *FIELD_STEPS, Step.EMAIL]
    steps.sort(key=order.index)
    if not steps:  # nothing the person can correct field by field: start the data again
        steps = [Step.NATIONALITY]
    log.info("request refused by the API", extra={"update_id": turn.update.update_id, "code": error.code,
                                                   "fields": [p.get("field") for p in problems]})
    convo.fixing = ",".join([*(s.value for s in steps), SUMMARY])
    message = lines[0] if len(lines) == 1 else "\n".join([turn.t("fix.intro"), *(f"• {line}" for line in lines)])
    await ask_step(turn, steps[0], error=message)


def register_steps() -> None:
    """Add the certificate's data steps to the conversation's dispatch tables."""
    c.TEXT_STEPS.update({
        Step.COUNTRY_CODE: on_country_code,
        Step.DOCUMENT_NUMBER: _typed_field(Step.DOCUMENT_NUMBER, "nationality", "document_type"),
        Step.GIVEN_NAMES: _typed_field(Step.GIVEN_NAMES),
        Step.FIRST_SURNAME: _typed_field(Step.FIRST_SURNAME),
        Step.SECOND_SURNAME: _typed_field(Step.SECOND_SURNAME),
        Step.BIRTH_DATE: _typed_field(Step.BIRTH_DATE),
        Step.EMAIL: _typed_field(Step.EMAIL),
    })
    c.BUTTON_STEPS.update({Step.LANGUAGE, Step.RESUME, Step.TERMS, Step.NATIONALITY, Step.DOCUMENT_TYPE,
                           Step.COUNTRY, Step.SUMMARY, Step.CHANGE_FIELD})
    c.BUTTONS.update({
        "lang": (on_language, frozenset({Step.LANGUAGE, Step.TERMS})),
        "resume": (on_resume, frozenset({Step.RESUME})),
        "terms": (on_terms, frozenset({Step.TERMS})),
        "nat": (on_nationality, frozenset({Step.NATIONALITY})),
        "doc": (on_document_type, frozenset({Step.DOCUMENT_TYPE})),
        "country": (on_country, frozenset({Step.COUNTRY})),
        "skip": (on_skip, frozenset({Step.SECOND_SURNAME, Step.EMAIL})),
        "sum": (on_summary, frozenset({Step.SUMMARY})),
        "fix": (on_change, frozenset({Step.CHANGE_FIELD})),
    })
