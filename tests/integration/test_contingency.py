"""The contingency plan (annex 5) on DynamoDB Local: a registry that does not answer mid check-in, the person's
data kept, the callback queue, one alert per outage, and the held check-ins completed once the registry is back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chalicelib.adapters.local_registries import RegistrySwitch
from infrastructure.local import dynamodb_local
from tests.conftest import free_port
from tests.integration.conftest import Api
from tests.integration.control_support import (
    INSIDE_LIMA,
    JORGE,
    JORGE_ANSWERS,
    ROSA,
    ROSA_ANSWERS,
    Person,
    flush_worker,
    officer,
    put_officer,
    run_schedule,
    staff,
)


@pytest.fixture
def switch(api: Api) -> Any:
    """The local stack's registry switches, the same ones `make registry-down` flips."""
    folder = api.c.settings.data_dir / "switches"
    switches = {name: RegistrySwitch(folder, name) for name in ("identity", "warrants")}
    yield switches
    for one in switches.values():
        one.set_down(False)


@pytest.fixture
def ready(api: Api, district: str) -> dict[str, Any]:
    """An officer in the district, Rosa and Jorge enrolled there, and no outage left by an earlier test."""
    flush_worker(api)
    run_schedule(api, "control_recovery")
    api.run_worker()
    ana = staff(district, "ana")
    put_officer(api, district, ana)
    people = {}
    for name, who, user in (("rosa", ROSA, "telegram:7001"), ("jorge", JORGE, "telegram:7002")):
        person = Person(api, who, user, district=district)
        assert person.enrol().status_code == 201
        people[name] = person
    api.run_worker()
    folder = api.c.settings.outbox_dir / "email"
    return {**people, "officer": ana, "mails_before": set(folder.glob("*.eml")) if folder.exists() else set()}


def new_mails(api: Api, ready: dict[str, Any], subject: str) -> list[Any]:
    import email
    import email.policy

    folder = api.c.settings.outbox_dir / "email"
    paths = sorted(set(folder.glob("*.eml")) - ready["mails_before"]) if folder.exists() else []
    found = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in paths]
    return [m for m in found if subject in " ".join(str(m["Subject"]).split())]


def checkin_view(api: Api, person: Person, checkin_id: str) -> dict[str, Any]:
    return dict(api.get(f"/v1/control/check-ins/{checkin_id}", user=person.user).json_body)


def compliance(api: Api, person: Person) -> dict[str, Any]:
    return dict(api.get(f"/v1/court/measures/{person.measure['measure_id']}/compliance",
                        headers=api.operator_headers("court")).json_body)


def test_identity_registry_down_keeps_the_check_in_queues_a_callback_alerts_once_and_completes_on_recovery(
        api, district, ready, chat, switch):
    rosa, jorge = ready["rosa"], ready["jorge"]
    switch["identity"].set_down(True)
    health = api.client.http.get("/health").json_body
    assert health["status"] == "degraded" and health["components"]["identity_registry"] == "down"
    assert health["components"]["warrants_registry"] == "ok"

    held = rosa.check_in(INSIDE_LIMA, ROSA_ANSWERS)
    assert held == {"checkin_id": held["checkin_id"], "step": "questions", "message": "annex5", "outcome": None,
                    "pending": True, "name": "Rosa Elvira de la Cruz Huamán",
                    "court": "Corte Superior de Justicia de " + district.title()}
    held_jorge = jorge.check_in(INSIDE_LIMA, JORGE_ANSWERS)
    assert held_jorge["message"] == "annex5"

    # Nothing the person sent is lost: the location and selfie as evidence, the answers kept for completion.
    evidence = compliance(api, rosa)["checkins"][0]["evidence"]
    assert [e["step"] for e in evidence] == ["started", "location", "selfie", "contingency"]
    assert evidence[1]["latitude"] == INSIDE_LIMA[0] and api.c.storage.get(evidence[2]["storage_key"])
    kept = api.c.control.contingencies.get_contingency(held["checkin_id"])
    assert kept.pending and kept.answers["parents_names"] == ROSA_ANSWERS["parents_names"]
    assert [i["type"] for i in compliance(api, rosa)["incidents"]] == ["contingency"]

    # The officers' callback queue, and one alert to the CVP head for the whole outage.
    queue = api.get("/v1/officer/callbacks", headers=officer(api, ready["officer"])).json_body["items"]
    assert {(q["full_name"], q["mobile"], q["registry"]) for q in queue} == {
        ("Rosa Elvira de la Cruz Huamán", "+51987654321", "identity"),
        ("Jorge Luis Salazar Paredes", "+51987654321", "identity")}
    api.run_worker()
    api.run_worker()
    alerts = new_mails(api, ready, "Plan de contingencia activado")
    assert len(alerts) == 1 and str(alerts[0]["To"]) == api.c.settings.cvp_head_email

    # Still down: the recovery job leaves the check-ins held.
    run_schedule(api, "control_recovery")
    assert checkin_view(api, rosa, held["checkin_id"])["outcome"] is None

    switch["identity"].set_down(False)
    run_schedule(api, "control_recovery")
    assert checkin_view(api, rosa, held["checkin_id"])["outcome"] == "registered"
    assert api.client.http.get("/health").json_body["components"]["identity_registry"] == "ok"
    assert checkin_view(api, jorge, held_jorge["checkin_id"])["outcome"] == "registered"
    resolved = api.c.control.contingencies.get_contingency(held["checkin_id"])
    assert (resolved.pending, resolved.resolution, resolved.answers) == (False, "completed", None)
    assert "warrant" in [i["type"] for i in compliance(api, jorge)["incidents"]]  # the warrant check ran too

    api.run_worker()
    api.run_worker()
    assert any("se completó el control virtual que quedó pendiente" in text for text in chat.to(rosa.user))
    assert len(new_mails(api, ready, "Restablecido")) == 1
    assert rosa.start().json_body["error"]["code"] == "already_registered"


def test_an_open_breaker_holds_later_check_ins_without_calling_the_registry(api, district, ready, switch):
    switch["identity"].set_down(True)
    answers = [ready["rosa"].check_in(INSIDE_LIMA, ROSA_ANSWERS)["message"] for _ in range(5)]
    assert answers == ["annex5"] * 5
    breaker = api.c.registries.breakers["identity"]
    assert breaker.failures == api.c.settings.registry_breaker_failures  # then the breaker answered for it
    switch["identity"].set_down(False)
    run_schedule(api, "control_recovery")
    assert api.c.identity.lookup("DNI", ROSA["document_number"]) is not None  # the breaker closed again


def test_a_check_in_whose_window_closed_during_the_outage_is_told_so_and_keeps_its_callback(api, district, ready,
                                                                                             chat, clock, switch):
    clock.moment = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)  # 15:00 in Lima, the window's last day
    rosa = ready["rosa"]
    switch["identity"].set_down(True)
    held = rosa.check_in(INSIDE_LIMA, ROSA_ANSWERS)
    assert held["message"] == "annex5"
    clock.moment = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    switch["identity"].set_down(False)
    run_schedule(api, "control_recovery")
    assert api.c.control.contingencies.get_contingency(held["checkin_id"]).resolution == "window_closed"
    assert checkin_view(api, rosa, held["checkin_id"])["outcome"] is None
    api.run_worker()
    api.run_worker()
    assert chat.to(rosa.user) == [
        "Los sistemas se restablecieron, pero su periodo de control terminó el 30/11/2026 sin que se pudiera "
        "completar su registro. Un encargado le llamará por única vez; también puede informar al Órgano "
        "Jurisdiccional sobre lo ocurrido."]
    queue = api.get("/v1/officer/callbacks", headers=officer(api, ready["officer"])).json_body["items"]
    assert [q["checkin_id"] for q in queue] == [held["checkin_id"]] and queue[0]["resolution"] == "window_closed"


def test_warrants_registry_down_holds_after_identity_and_the_warrant_check_runs_on_recovery(api, district, ready,
                                                                                            switch):
    jorge = ready["jorge"]
    switch["warrants"].set_down(True)
    assert api.client.http.get("/health").json_body["components"]["warrants_registry"] == "down"
    held = jorge.check_in(INSIDE_LIMA, JORGE_ANSWERS)
    assert held["message"] == "annex5"
    assert api.c.control.contingencies.get_contingency(held["checkin_id"]).registry == "warrants"
    assert "warrant" not in [i["type"] for i in compliance(api, jorge)["incidents"]]
    run_schedule(api, "control_recovery")  # its probe reads the warrants registry itself: still down
    assert checkin_view(api, jorge, held["checkin_id"])["outcome"] is None
    switch["warrants"].set_down(False)
    run_schedule(api, "control_recovery")
    assert checkin_view(api, jorge, held["checkin_id"])["outcome"] == "registered"
    assert "warrant" in [i["type"] for i in compliance(api, jorge)["incidents"]]


def test_the_officer_makes_the_one_callback_of_annex_5(api, district, ready, switch):
    switch["identity"].set_down(True)
    held = ready["rosa"].check_in(INSIDE_LIMA, ROSA_ANSWERS)
    path = f"/v1/officer/callbacks/{held['checkin_id']}"
    outsider = staff(district, "otro")
    assert api.post(path, {"outcome": "answered"}, headers=officer(api, outsider)).status_code == 404
    done = api.post(path, {"outcome": "answered", "note": "Se le explicó el plan de contingencia"},
                    headers=officer(api, ready["officer"]))
    assert done.status_code == 200 and done.json_body["callback"]["outcome"] == "answered"
    again = api.post(path, {"outcome": "answered"}, headers=officer(api, ready["officer"]))
    assert again.status_code == 400 and again.json_body["error"]["code"] == "callback_done"
    queue = api.get("/v1/officer/callbacks", headers=officer(api, ready["officer"])).json_body["items"]
    assert held["checkin_id"] not in [q["checkin_id"] for q in queue]
    switch["identity"].set_down(False)
    run_schedule(api, "control_recovery")


@pytest.fixture
def remote_identity(api: Api, tmp_path: Path) -> Any:
    """The identity registry on a DynamoDB Local of its own (data on disk) that the test can stop and start."""
    from chalicelib.adapters import dynamo_models as m
    from chalicelib.adapters.dynamo_store import DynamoIdentityRegistry, identity_from_dict

    port = free_port()
    state = {"process": dynamodb_local.start(port, tmp_path / "registry-db")}
    record = identity_from_dict(m.IdentityModel.get(f"DNI#{ROSA['document_number']}").body)
    original = (m.IdentityModel.Meta.host, m.IdentityModel.Meta.table_name)
    m.IdentityModel.Meta.host = f"http://127.0.0.1:{port}"
    m.IdentityModel._connection = None
    m.IdentityModel.create_table(billing_mode="PAY_PER_REQUEST", wait=False)  # DynamoDB Local: active at once
    DynamoIdentityRegistry().put(record)

    def stop() -> None:
        dynamodb_local.stop(state["process"])

    def start() -> None:
        state["process"] = dynamodb_local.start(port, tmp_path / "registry-db")

    yield stop, start
    stop()
    m.IdentityModel.Meta.host, m.IdentityModel.Meta.table_name = original
    m.IdentityModel._connection = None


def test_a_stopped_identity_registry_server_holds_the_check_in_and_its_restart_completes_it(
        api, district, ready, remote_identity):
    stop, start = remote_identity
    rosa = ready["rosa"]
    stop()
    held = rosa.check_in(INSIDE_LIMA, ROSA_ANSWERS)
    assert held["message"] == "annex5" and held["pending"] is True
    run_schedule(api, "control_recovery")  # the probe fails: still held
    assert checkin_view(api, rosa, held["checkin_id"])["outcome"] is None
    start()
    run_schedule(api, "control_recovery")
    assert checkin_view(api, rosa, held["checkin_id"])["outcome"] == "registered"


def test_a_registry_that_comes_back_empty_sends_held_check_ins_to_an_officer_never_to_an_incident(
        api, district, ready, switch, chat):
    """The registry answers again but, for a few seconds, with no record: nobody is judged an impostor."""
    from chalicelib.adapters import dynamo_models as m

    rosa = ready["rosa"]
    switch["identity"].set_down(True)
    held = rosa.check_in(INSIDE_LIMA, ROSA_ANSWERS)
    assert held["message"] == "annex5"
    key = f"DNI#{ROSA['document_number']}"
    saved = m.IdentityModel.get(key)
    saved.delete()
    try:
        switch["identity"].set_down(False)
        run_schedule(api, "control_recovery")
        assert api.c.control.contingencies.get_contingency(held["checkin_id"]).resolution == "review"
        assert checkin_view(api, rosa, held["checkin_id"])["step"] == "review"
        assert "impersonation" not in [i["type"] for i in compliance(api, rosa)["incidents"]]
        api.run_worker()
        assert any("revisión de un encargado" in text for text in chat.to(rosa.user))
        reviews = api.get("/v1/officer/reviews", headers=officer(api, ready["officer"])).json_body["items"]
        assert [r["checkin_id"] for r in reviews] == [held["checkin_id"]]
    finally:
        m.IdentityModel(key, body=saved.body).save()
    decided = api.post(f"/v1/officer/check-ins/{held['checkin_id']}/review",
                       {"decision": "confirmed", "note": "Foto en archivo y llamada conforme"},
                       headers=officer(api, ready["officer"]))
    assert decided.status_code == 200 and decided.json_body["outcome"] == "registered"
    api.run_worker()
    assert any("quedó registrado" in text for text in chat.to(rosa.user))


def test_make_registry_down_and_up_flip_the_switch_the_running_stack_reads(api, switch, tmp_path):
    """The documented way to try annex 5 on the local stack."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DATA_DIR": str(api.c.settings.data_dir), "PYTHONPATH": str(root)}
    down = subprocess.run([sys.executable, "-m", "chalicelib.adapters.local_registries", "down", "warrants"],
                          cwd=root, env=env, capture_output=True, text=True, check=True)
    assert down.stdout.strip() == "warrants registry: down" and switch["warrants"].down
    assert api.client.http.get("/health").json_body["components"]["warrants_registry"] == "down"
    subprocess.run([sys.executable, "-m", "chalicelib.adapters.local_registries", "up", "warrants"], cwd=root,
                   env=env, check=True, capture_output=True)
    assert not switch["warrants"].down
