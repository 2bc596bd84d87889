"""What the virtual-control integration tests share: the fictitious people, a person driven through the API,
a district of the test's own, officers, the worker, the schedules and what was sent."""

from __future__ import annotations

import email
import email.policy
import json
import random
import secrets
import string
from email.message import EmailMessage
from typing import Any

import pytest

from chalicelib.domain.control.calendar import parse_calendar
from chalicelib.domain.control.people import judicial_districts, parse_person
from chalicelib.domain.identity import dni_check_characters
from chalicelib.domain.requests import Event, new_id
from infrastructure.local.seed import sample_calendar
from tests.integration.conftest import Api

# Fictitious people of infrastructure/local/seed/identity.csv (and warrants.csv for Jorge).
ROSA = {"has_document": True, "nationality": "PER", "document_type": "DNI", "document_number": "70112233",
        "given_names": "Rosa Elvira", "surnames": "de la Cruz Huamán"}
ROSA_ANSWERS = {"parents_names": "Víctor de la Cruz y Julia Huamán", "dni_issue_date": "2016-08-01",
                "dni_expiry_date": "2024-08-01", "dni_check_character": None}
JORGE = {"has_document": True, "nationality": "PER", "document_type": "DNI", "document_number": "44556677",
         "given_names": "Jorge Luis", "surnames": "Salazar Paredes"}
JORGE_ANSWERS = {"parents_names": "Luis Salazar, Marta Paredes", "dni_issue_date": "2018-04-04",
                 "dni_expiry_date": "2028-04-04", "dni_check_character": None}
INSIDE_LIMA = (-12.05, -77.03)
CUSCO = (-13.53, -71.97)
JPEG = b"\xff\xd8\xff\xe0" + b"fake-jpeg-body" * 10
ANNEX_2A = ("Estimado Sr.(a) {name}; el personal del Control Virtual Penal de Procesados y Sentenciados Libres del "
            "Poder Judicial, ha tratado de comunicarse con Usted sin éxito alguno; favor de devolver la llamada "
            "telefónica a la brevedad posible, a fin de coordinar el inicio de su registro de control virtual en "
            "cumplimiento de las reglas de conducta impuesta a su persona.")


def answers_of(person: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    return {**answers, "dni_check_character": dni_check_characters(person["document_number"])[0]}


def case_file() -> str:
    """A case file of the test's own: the session's tables are shared, and a measure is once per person and case."""
    return f"{secrets.randbelow(10**5):05d}-2020-0-1801-JR-PE-01"


def measure_body(person: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {"person": person, "case_file": case_file(), "court": "1° Juzgado Penal de Lima",
            "district": "LIMA", "legal_status": "processed", "periodicity": "monthly", "start_date": "2026-01-01",
            "first_registration_deadline": "2026-12-31", "end_date": "2027-12-31", "area": "LIMA",
            "group": "B", **changes}


def location(api: Api, lat: float, lon: float, **changes: Any) -> dict[str, Any]:
    return {"latitude": lat, "longitude": lon, "accuracy_m": 20, "live_period": 900,
            "sent_at": api.c.clock.now().timestamp() - 5, **changes}


def person(document_number: str | None = None, **changes: Any) -> dict[str, Any]:
    return {"has_document": True, "nationality": "PER", "document_type": "DNI",
            "document_number": document_number or f"9{secrets.randbelow(10**7):07d}",
            "given_names": "Prueba", "surnames": "Persona Control", **changes}


class Person:
    """A person under a court measure, driven through the API as the bot drives it."""

    def __init__(self, api: Api, person: dict[str, Any], user: str, **measure: Any) -> None:
        self.api, self.person, self.user = api, person, f"{user}{uuid_part()}"
        # Tables are shared by the session's tests: close this person's measures left by earlier tests.
        for old in api.c.control.measures.active_measures_of_person(parse_person(person, prefix="").key):
            api.post(f"/v1/court/measures/{old.measure_id}/revoke", {}, headers=api.operator_headers("court"))
        answer = api.post("/v1/court/measures", measure_body(person, **measure),
                          headers=api.operator_headers("court", subject="judge-1"))
        assert answer.status_code == 201, answer.body
        self.measure = answer.json_body

    def enrol(self, **form: Any) -> Any:
        body = {"mobile": "+51987654321", "address": "Av. Abancay 123, Lima", "language": "es", **self.person,
                **form}
        return self.api.post("/v1/control/enrolments", body, user=self.user)

    def start(self) -> Any:
        return self.api.post("/v1/control/check-ins", {}, user=self.user)

    def step(self, checkin_id: str, name: str, body: Any) -> Any:
        return self.api.post(f"/v1/control/check-ins/{checkin_id}/{name}", body, user=self.user)

    def selfie(self, checkin_id: str) -> Any:
        headers = {**self.api.channel_headers(self.user), "Content-Type": "image/jpeg"}
        return self.api.client.http.post(f"/v1/control/check-ins/{checkin_id}/selfie", body=JPEG, headers=headers)

    def check_in(self, where: tuple[float, float], answers: dict[str, Any]) -> dict[str, Any]:
        checkin = self.start()
        assert checkin.status_code == 201, checkin.body
        cid = checkin.json_body["checkin_id"]
        assert self.step(cid, "location", location(self.api, *where)).json_body["step"] == "selfie"
        selfie = self.selfie(cid).json_body
        assert selfie["step"] == "questions", selfie  # the embedded face matcher is never conclusive
        given = answers_of(self.person, answers) if self.person.get("document_number") else answers
        result = self.step(cid, "answers", {"answers": given})
        assert result.status_code == 200, result.body
        return dict(result.json_body)


def uuid_part() -> str:
    return secrets.token_hex(4)


# --- districts, officers and the worker --------------------------------------------------------------------

_CREATED: list[str] = []


def new_district(api: Api) -> str:
    """A judicial district of the test's own, with the sample calendar: the session's tables are shared. It is
    added to the catalogue of districts for the session (tests only)."""
    name = "ZT" + "".join(random.choice(string.ascii_uppercase) for _ in range(10))
    judicial_districts()[name] = name.title()
    tx = api.c.control.uow.begin()
    for year in (2026, 2027):
        tx.put_calendar(parse_calendar(year, name, sample_calendar(year)))
    tx.commit()
    _CREATED.append(name)
    return name


def forget_created_districts() -> None:
    """Take the tests' districts off the directory the daily jobs walk, so later tests' jobs skip them."""
    from chalicelib.adapters import dynamo_models as m

    if _CREATED:
        m.ControlMarkerModel("districts").update(actions=[m.ControlMarkerModel.members.delete(set(_CREATED))])
        _CREATED.clear()


class Chat:
    """Stands in for the chat notifier: records what would be sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send_message(self, chat_id: str, text: str) -> dict[str, Any]:
        self.sent.append((chat_id, text))
        return {"ok": True}

    def send_document(self, chat_id: str, filename: str, data: bytes, caption: str) -> dict[str, Any]:
        self.sent.append((chat_id, caption))
        return {"ok": True}

    def to(self, owner: str) -> list[str]:
        return [text for chat_id, text in self.sent if f"telegram:{chat_id}" == owner]


def record_chat(api: Api, monkeypatch: pytest.MonkeyPatch) -> Chat:
    recorder = Chat()
    monkeypatch.setattr(api.c, "notifier", lambda: recorder)
    return recorder


def cvp(api: Api, district: str = "*") -> dict[str, str]:
    return api.operator_headers("cvp_head", subject="cvp-head-1", districts=(district,))


def officer(api: Api, subject: str, district: str = "*") -> dict[str, str]:
    return api.operator_headers("officer", subject=subject, districts=(district,))


def staff(district: str, name: str) -> str:
    """An officer id of the test's own: operator subjects are global and the session's tables shared."""
    return f"{name}-{district[-6:].lower()}"


def put_officer(api: Api, district: str, officer_id: str, active: bool = True) -> Any:
    answer = api.client.http.put(f"/v1/cvp/districts/{district}/officers/{officer_id}", headers=cvp(api),
                                 body=json.dumps({"active": active, "name": f"Encargado {officer_id}"}))
    assert answer.status_code == 200, answer.body
    return answer.json_body


def counts(api: Api, district: str) -> dict[str, int]:
    answer = api.get(f"/v1/cvp/districts/{district}/officers", headers=cvp(api))
    return {o["officer_id"]: o["assigned"] for o in answer.json_body["items"] if o["active"]}


def enrolled(api: Api, district: str, someone: dict[str, Any] | None = None, *, language: str = "es",
             group: str = "B", user: str = "telegram:77", **measure: Any) -> Person:
    """A person enrolled through the API (court measure, then the channel), and assigned by the worker."""
    who = Person(api, someone or person(), user, district=district, group=group, **measure)
    answer = who.enrol(mobile="987654321", language=language)
    assert answer.status_code == 201, answer.body
    api.run_worker()
    return who


def run_schedule(api: Api, name: str) -> Any:
    event = api.client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                                resources=[])
    return api.client.lambda_.invoke(name, event)


def flush_worker(api: Api) -> None:
    """Deliver earlier tests' events first, so that only this test's events draw from a seeded generator.

    The marker event has no handler; it is there because DynamoDB Local refuses to read on after a first
    read of a still empty stream shard (TrimmedDataAccessException), which would skip the test's events.
    """
    tx = api.c.store.transaction()
    tx.add_event(Event(new_id(), "test.flush", "flush", api.c.clock.now(), {}))
    tx.commit()
    api.run_worker()


def emails(api: Api, district: str | None = None) -> list[EmailMessage]:
    folder = api.c.settings.outbox_dir / "email"
    found = [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
             for path in sorted(folder.glob("*.eml"))] if folder.exists() else []
    messages = [m for m in found if isinstance(m, EmailMessage)]
    return [m for m in messages if district is None or f"[CVP {district}]" in " ".join(str(m["Subject"]).split())]


def sms_sent(api: Api) -> list[dict[str, Any]]:
    folder = api.c.settings.outbox_dir / "sms"
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.exists() else []
