"""The contingency plan (annex 5) on fakes: a registry down holds the check-in with what the person sent; its
probe fails exactly while it cannot be read; on recovery the check-in completes, or goes to an officer when the
registry has no record — never to an impersonation incident."""

from __future__ import annotations

from chalicelib.services.control import contingency
from tests.unit.control.world import World


def setup(w: World) -> None:
    w.officer("ana")
    w.measure()
    w.enrol("telegram:1")
    w.run_worker()


def test_identity_registry_down_holds_the_check_in_and_recovery_registers_it() -> None:
    w = World()
    setup(w)
    w.identity.down = True
    held = w.check_in("telegram:1")
    assert held["message"] == "annex5" and held["pending"]
    assert w.k.contingencies.outage("identity").open
    assert contingency.registry_status(w.registries, w.k.contingencies, w.clock)["identity_registry"] == "down"
    # Still down: the recovery job finds it so and leaves the check-in held.
    assert contingency.recover(registries=w.registries, p=w.p)["still_down"] == ["identity"]
    w.identity.down = False
    result = contingency.recover(registries=w.registries, p=w.p)
    assert result["restored"] == ["identity"] and result["resolutions"] == {"completed": 1}
    assert w.k.checkins.get_checkin(held["checkin_id"]).outcome == "registered"
    assert not w.k.contingencies.get_contingency(held["checkin_id"]).answers  # erased once used
    assert contingency.registry_status(w.registries, w.k.contingencies, w.clock)["identity_registry"] == "ok"


def test_a_registry_back_but_empty_sends_the_held_check_in_to_an_officer_not_to_an_incident() -> None:
    w = World()
    setup(w)
    w.identity.down = True
    held = w.check_in("telegram:1")
    w.identity.down = False
    w.identity.records.clear()  # it answers again, with no record for a few seconds
    result = contingency.recover(registries=w.registries, p=w.p)
    assert result["resolutions"] == {"review": 1}
    assert w.k.checkins.get_checkin(held["checkin_id"]).step.value == "review"
    assert w.incidents("impersonation") == []
    assert [e.data["resolution"] for e in w.data.events if e.name == "control.contingency_resolved"] == ["review"]


def test_the_probe_asks_each_registry_itself() -> None:
    w = World()
    assert w.registries.probe("identity") and w.registries.probe("warrants")
    w.warrants.down = True
    assert w.registries.probe("identity") and not w.registries.probe("warrants")
    status = contingency.registry_status(w.registries, w.k.contingencies, w.clock)
    assert status == {"identity_registry": "ok", "warrants_registry": "down"}


def test_warrants_down_holds_after_identity_and_the_check_runs_on_recovery() -> None:
    w = World()
    setup(w)
    w.warrants.down = True
    held = w.check_in("telegram:1")
    assert held["message"] == "annex5"
    assert w.k.contingencies.get_contingency(held["checkin_id"]).registry == "warrants"
    w.warrants.down = False
    assert contingency.recover(registries=w.registries, p=w.p)["resolutions"] == {"completed": 1}
    evidence = [e["step"] for e in w.k.checkins.get_checkin(held["checkin_id"]).evidence]
    assert "warrant_check" in evidence and evidence[-1] == "registered"


def test_one_outage_alert_whatever_the_number_of_held_check_ins() -> None:
    w = World()
    setup(w)
    w.identity.down = True
    w.check_in("telegram:1")
    from tests.unit.control.world import JUAN

    w.measure(JUAN, case_file="00456-2021-0-1801-JR-PE-01")
    w.enrol("telegram:2", JUAN)
    w.check_in("telegram:2")
    assert w.data.event_names().count("control.outage_started") == 1
    assert len(w.incidents("contingency")) == 2
