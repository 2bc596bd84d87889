"""The console's indicators page over the in-process app on DynamoDB Local: the figures of a district with their
targets and progress, a CVP head kept to their districts, the CSV through a short-lived link, and the
administrator's targets and in-person counts (refused input named, nothing written; saved ones audited)."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tests.integration.conftest import Api
from tests.integration.console_support import signed_in
from tests.integration.control_support import (
    INSIDE_LIMA,
    ROSA,
    ROSA_ANSWERS,
    enrolled,
    forget_created_districts,
    new_district,
    put_officer,
    staff,
)


@pytest.fixture
def district(api: Api) -> Any:
    name = new_district(api)
    put_officer(api, name, staff(name, "ana"))
    rosa = enrolled(api, name, ROSA, area="LIMA")
    assert rosa.check_in(INSIDE_LIMA, ROSA_ANSWERS)["outcome"] == "registered"
    api.run_worker()
    yield name
    forget_created_districts()


def test_a_cvp_head_reads_their_districts_figures_with_target_and_progress_and_no_other_district(
        api: Api, district: str) -> None:
    browser = signed_in(api, "cvp_head", districts=(district,))
    page = browser.get(f"/console/indicators?period=2026-11&district={district}")
    assert page.status_code == 200
    main = browser.main()
    assert "Cumplimiento de medidas en medio libre" in main and "(IOP.04.03)" in main
    assert "100.0 %" in main and "1 / 1" in main  # one period registered of one due
    assert "41.0 %" in main and "34.9 %" in main and "-967.2 %" in main and "286.5 %" in main
    assert '<svg role="img"' in main and "Datos del gráfico" in main
    assert f'<option value="{district}" selected>' in main and 'value="CUSCO"' not in main
    other = browser.get("/console/indicators?district=CUSCO")
    assert other.status_code == 403 and 'data-code="out_of_scope"' in browser.main()
    assert "Controles registrados" not in browser.main()
    assert any(e.action == "console.forbidden" for e in api.c.audit.entries_for_target("/console/indicators", 50))
    unknown = browser.get("/console/indicators?district=ATLANTIS")
    assert unknown.status_code == 422 and "Controles registrados" not in browser.main()
    # No administrator's forms for a CVP head, and their posts are refused.
    assert "/console/indicators/targets" not in main
    refused = browser.post("/console/indicators/targets", {"code": "OGE4", "baseline": "1", "expected": "2",
                                                           "back": "/console/indicators"})
    assert refused.status_code == 403


def test_the_csv_goes_out_through_a_short_lived_link(api: Api, district: str) -> None:
    browser = signed_in(api, "auditor")
    answer = browser.get(f"/console/indicators?period=2026-11&district={district}&format=csv", follow=False)
    assert answer.status_code == 303
    data = browser.get(browser.location(answer))
    text = data.body.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("period,scope,indicator,value")
    assert f"2026-11,{district},IOP.04.03,100.0,%,1,1,41.0,34.9,-967.2,,286.5" in text
    assert any(e.action == "console.export" for e in api.c.audit.entries_for_target(
        f"indicadores-2026-11-{district}", 10))


def test_an_administrator_sets_a_target_and_the_offices_counts_refused_input_changes_nothing(api: Api) -> None:
    browser = signed_in(api, "admin")
    assert browser.get("/console/indicators").status_code == 200
    assert "Metas" in browser.main() and "Atenciones presenciales (OGE4)" in browser.main()
    before = api.c.indicators.target("certificates.decided.reviewer")
    bad = browser.post("/console/indicators/targets", {"code": "certificates.decided.reviewer", "baseline": "abc",
                                                       "expected": "20", "back": "/console/indicators/targets"})
    assert bad.status_code == 422 and "Ingrese un número." in browser.main()
    assert 'value="abc"' in browser.main()  # what was typed comes back
    assert api.c.indicators.target("certificates.decided.reviewer") == before
    done = browser.post("/console/indicators/targets", {"code": "certificates.decided.reviewer", "baseline": "30",
                                                        "expected": "22,5", "back": "/console/indicators/targets"})
    assert done.status_code == 200 and "Meta guardada." in browser.main()
    assert api.c.indicators.target("certificates.decided.reviewer").expected == 22.5
    period = f"2032-{1 + secrets.randbelow(12):02d}"
    wrong = browser.post("/console/indicators/in-person", {"period": period, "offices": "Lima Centro; 12\nCusco 7",
                                                           "back": "/console/indicators/in-person"})
    assert wrong.status_code == 422 and "Línea 2: se esperaba una oficina" in browser.main()
    assert api.c.indicators.in_person(period) == {}
    saved = browser.post("/console/indicators/in-person", {"period": period, "offices": "Lima Centro; 12\n\nCusco;7",
                                                           "back": "/console/indicators/in-person"})
    assert saved.status_code == 200 and "Atenciones presenciales guardadas." in browser.main()
    assert api.c.indicators.in_person(period) == {"Lima Centro": 12, "Cusco": 7}
    assert "19 atenciones en 2 oficinas" in browser.main()
    assert any(e.action == "indicator.set_in_person" for e in api.c.audit.entries_for_target(period, 10))
