"""Every page of the console in headless Chromium (the Debian package), signed in as each role over real HTTP:
axe-core reports no WCAG 2.2 A/AA violation, the strict CSP blocks nothing the page needs, it works on a
phone-sized screen, and a screenshot of each page is kept (CONSOLE_SCREENSHOTS, default .artifacts/console)."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port
from tests.integration import console_world
from tests.integration.conftest import Api
from tests.integration.console_support import PASSWORD

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = Path(os.environ.get("CONSOLE_SCREENSHOTS", ROOT / ".artifacts" / "console"))
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-quic"]
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.fixture(scope="module")
def world(module_api: Api) -> dict[str, Any]:
    return console_world.build(module_api)


@pytest.fixture(scope="module")
def server(module_api: Api, world: dict[str, Any]) -> Iterator[str]:
    """The same app over real HTTP on 127.0.0.1 (chalice's local server, threaded for a browser)."""
    from chalice.config import Config
    from chalice.local import create_local_server

    import app

    port = free_port()
    local = create_local_server(app.app, Config.create(app_name="antecedentes"), "127.0.0.1", port)
    thread = threading.Thread(target=local.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    local.shutdown()


@pytest.fixture(scope="module")
def chromium(world: dict[str, Any], server: str) -> Iterator[Any]:
    """Started after the world is built: Playwright's sync API holds an event loop in this thread, and the
    world's documents are signed with pyHanko, which runs its own."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS)
        yield browser
        browser.close()


def axe(page: Any) -> list[tuple[str, str, list[Any]]]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run(document, {runOnly: tags})", WCAG)
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:5]) for v in result["violations"]]


class Visit:
    """One operator's browser: signs in through the form, then checks and photographs each page."""

    def __init__(self, chromium: Any, base: str, username: str, *, mobile: bool = False) -> None:
        size = {"width": 390, "height": 844} if mobile else {"width": 1280, "height": 900}
        # axe-core is the test's own script: only it is let past the page's CSP (which allows scripts from 'self').
        self.context = chromium.new_context(viewport=size, bypass_csp=True, locale="es-PE")
        self.page = self.context.new_page()
        self.base = base
        self.page.goto(f"{base}/console/login")
        self.page.fill("#username", username)
        self.page.fill("#password", PASSWORD)
        self.page.get_by_role("button", name="Ingresar").click()
        self.page.wait_for_load_state()
        assert "/console/login" not in self.page.url, self.page.content()[:500]

    def check(self, path: str, name: str, *, status: int = 200) -> Any:
        answer = self.page.goto(self.base + path)
        assert answer is not None and answer.status == status, (path, answer.status if answer else None)
        return self.checked(name)

    def checked(self, name: str) -> Any:
        page = self.page
        assert page.locator("h1").count() == 1, name
        problems = axe(page)
        assert problems == [], (name, problems)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        return page

    def close(self) -> None:
        self.context.close()


def test_the_sign_in_page_and_the_403_page_are_accessible(chromium: Any, server: str,
                                                           world: dict[str, Any]) -> None:
    context = chromium.new_context(bypass_csp=True, locale="es-PE")
    page = context.new_page()
    page.goto(f"{server}/console/login")
    assert axe(page) == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "login.png"), full_page=True)
    page.fill("#username", world["accounts"]["auditor"])
    page.fill("#password", "equivocada-123")
    page.get_by_role("button", name="Ingresar").click()
    assert "Usuario o contraseña incorrectos" in page.content() and axe(page) == []
    page.screenshot(path=str(SHOTS / "login-refused.png"), full_page=True)
    context.close()
    visit = Visit(chromium, server, world["accounts"]["auditor"])
    visit.check("/console/review", "forbidden-403", status=403)
    visit.close()


def test_the_reviewers_pages(chromium: Any, server: str, world: dict[str, Any], module_api: Api) -> None:
    visit = Visit(chromium, server, world["accounts"]["reviewer"])
    visit.check("/console/review", "reviewer-queue")
    page = visit.check(f"/console/review/{world['request']['request_id']}", "reviewer-case")
    assert page.locator(".card").count() >= 2  # the applicant and the candidates side by side
    # A decision without its note stays on the page, with the message beside the field.
    page.locator("input[value=cleared]").first.check()
    page.get_by_role("button", name="Guardar la decisión").first.click()
    if page.locator(".error-summary").count():
        visit.checked("reviewer-case-note-missing")
    visit.close()


def test_the_officers_pages(chromium: Any, server: str, world: dict[str, Any]) -> None:
    visit = Visit(chromium, server, world["accounts"]["officer"])
    page = visit.check("/console/officer", "officer-home")
    assert page.get_by_text("Teodoro Pérez Rojas").count() >= 1
    page = visit.check(f"/console/officer/people/{world['rosa']}", "officer-person-refused")
    assert page.locator("svg.map").count() >= 1
    assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    visit.check(f"/console/officer/people/{world['teodoro']}", "officer-person-to-confirm")
    visit.check(f"/console/officer/people/{world['never']}", "officer-person-no-photo")
    visit.close()


def test_the_cvp_heads_pages(chromium: Any, server: str, world: dict[str, Any]) -> None:
    district = world["district"]
    visit = Visit(chromium, server, world["accounts"]["cvp_head"])
    visit.check(f"/console/cvp?district={district}", "cvp-day")
    visit.check(f"/console/cvp/enrolments?district={district}", "cvp-enrolments")
    visit.check(f"/console/cvp/reports?district={district}&day={world['day']}", "cvp-reports")
    visit.check(f"/console/cvp/calendar?district={district}", "cvp-calendar")
    visit.check(f"/console/cvp/people/{world['marco']}", "cvp-person")
    visit.close()


def test_the_court_pages_with_an_area_previewed_on_the_map(chromium: Any, server: str, world: dict[str, Any],
                                                         tmp_path: Path) -> None:
    visit = Visit(chromium, server, world["accounts"]["court"])
    visit.check("/console/court/measures?q=70112233", "court-search")
    page = visit.check("/console/court/measures/new", "court-new")
    area = tmp_path / "area.geojson"
    area.write_text('{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[-77.05, -12.13], '
                    '[-77.01, -12.13], [-77.01, -12.10], [-77.05, -12.10], [-77.05, -12.13]]]}}')
    page.fill("#f-person-given_names", "Mario")
    page.fill("#f-person-surnames", "Mapa Prueba")
    page.fill("#f-person-document_number", "73334455")
    page.fill("#f-case_file", "01234-2021-0-1801-JR-PE-01")
    page.fill("#f-court", "1° Juzgado Penal de Lima")
    page.fill("#f-start_date", "2026-01-01")
    page.fill("#f-first_registration_deadline", "2026-12-31")
    page.fill("#f-end_date", "2027-12-31")
    page.locator("input[name=area_kind][value=file]").check()
    page.set_input_files("#f-area_file", str(area))
    page.fill("#f-area_label", "distrito de Miraflores")
    page.get_by_role("button", name="Vista previa").click()
    page.wait_for_load_state()
    assert page.locator("svg.map").count() == 1, page.content()[:1500]
    visit.checked("court-new-preview")
    visit.check(f"/console/court/measures/{world['rosa']}", "court-measure")
    visit.close()


def test_the_administrators_pages_and_an_import_with_its_progress_bar(chromium: Any, server: str,
                                                                      world: dict[str, Any], module_api: Api) -> None:
    visit = Visit(chromium, server, world["accounts"]["admin"])
    visit.check("/console/admin/operators", "admin-operators")
    visit.check(f"/console/admin/operators/{world['accounts']['officer']}", "admin-operator")
    visit.check("/console/admin/imports", "admin-imports")
    bad, good = world["jobs"]
    page = visit.check(f"/console/admin/jobs/{bad}", "admin-job-refused")
    assert page.get_by_text("Rechazada").count() >= 1
    visit.check(f"/console/admin/jobs/{good}", "admin-job-done")
    visit.close()


def test_an_import_from_the_console_goes_through_a_presigned_upload(chromium: Any, server: str,
                                                                    world: dict[str, Any], module_api: Api,
                                                                    tmp_path: Path) -> None:
    """The page's script reserves the upload, posts the file to it (not through the console's form), and starts
    the job by naming it; the browser lands on the job's page."""
    number = f"{80_000_000 + time.time_ns() // 1000 % 1_000_000:08d}"
    csv = tmp_path / "padron.csv"
    csv.write_text("document_type,document_number,given_names,first_surname,second_surname,birth_date,issue_date,"
                   f"expiry_date,nationality,father_name,mother_name\nDNI,{number},Subida,Por,Navegador,1990-01-01,,,"
                   "PER,,\n", encoding="utf-8")
    visit = Visit(chromium, server, world["accounts"]["admin"])
    page = visit.check("/console/admin/imports", "admin-imports-upload")
    page.locator("input[name=registry][value=identity]").check()
    job_id = _upload_through_the_page(page, server, csv, "/console/admin")
    job = module_api.c.jobs.get_job(job_id)
    assert job is not None and job.status.value == "queued" and job.file_name == "padron.csv"
    module_api.run_worker()
    assert module_api.c.registries.identity.lookup("DNI", number) is not None
    visit.close()


def test_a_courts_import_from_the_console_goes_through_a_presigned_upload(chromium: Any, server: str,
                                                                          world: dict[str, Any], module_api: Api,
                                                                          tmp_path: Path) -> None:
    """Court staff's file takes the same path: reserved, posted to storage, the job started by naming it."""
    from chalicelib.services.control.measure_import import MEASURE_CSV_COLUMNS

    case = f"{time.time_ns() // 1000 % 100_000:05d}-2022-0-{console_world.COURT}"
    csv = tmp_path / "medidas.csv"
    csv.write_text(",".join(MEASURE_CSV_COLUMNS) + f"\ntrue,PER,DNI,46677889,Juana Rosa,Quispe Huamán,{case},"
                   "2° Juzgado Penal,LIMA,sentenced,monthly,2026-01-01,2026-12-31,2027-12-31,LIMA,A,\n",
                   encoding="utf-8")
    visit = Visit(chromium, server, world["accounts"]["court"])
    page = visit.check("/console/court/imports", "court-imports-upload")
    job_id = _upload_through_the_page(page, server, csv, "/console/court")
    assert getattr(module_api.c.jobs.get_job(job_id), "file_name", None) == "medidas.csv"
    module_api.run_worker()
    job = module_api.c.jobs.get_job(job_id)
    assert job is not None and job.status.value == "done", job
    page.goto(f"{server}/console/court/measures?q={case}")
    assert page.get_by_text(case).count() >= 1
    visit.close()


def _upload_through_the_page(page: Any, server: str, csv: Path, base: str) -> str:
    """Submits the import form with its script; the requests it made are the presigned path's, and the browser is
    on the queued job's page. Returns the job's id."""
    posted: list[str] = []
    page.on("request", lambda request: posted.append(request.url) if request.method == "POST" else None)
    page.set_input_files("#f-file", str(csv))
    page.get_by_role("button", name="Importar").click()
    page.wait_for_url(re.compile(rf".*{base}/jobs/[A-Za-z0-9_-]+$"))
    job_id: str = page.url.rsplit("/", 1)[1]
    paths = [p.split(server, 1)[1].split("?")[0] for p in posted]
    assert paths[:3] == [f"{base}/imports/upload", paths[1], f"{base}/imports/start"], paths
    assert paths[1].startswith("/v1/uploads/") and f"{base}/imports" not in paths
    return job_id


def test_the_auditors_page(chromium: Any, server: str, world: dict[str, Any]) -> None:
    visit = Visit(chromium, server, world["accounts"]["auditor"])
    page = visit.check("/console/audit?person=70112233&from=2026-11-20&to=2026-11-20", "auditor-search")
    assert page.locator("table").count() == 1
    visit.close()


def test_the_indicators_page_for_an_administrator_and_on_a_cvp_heads_phone(chromium: Any, server: str,
                                                                          world: dict[str, Any]) -> None:
    visit = Visit(chromium, server, world["accounts"]["admin"])
    page = visit.check("/console/indicators?period=2026-11", "indicators-admin")
    assert page.locator("svg[role=img]").count() == 1 and page.locator("form[method=post]").count() >= 2
    page.select_option("#f-code", "OGE4")
    page.fill("#f-baseline", "mucho")
    page.fill("#f-expected", "60")
    page.get_by_role("button", name="Guardar la meta").click()
    visit.checked("indicators-admin-refused")  # the refused form, its error named, is accessible too
    assert page.locator(".error-summary").count() == 1
    visit.close()
    phone = Visit(chromium, server, world["accounts"]["cvp_head"], mobile=True)
    phone.check("/console/indicators", "phone-indicators-cvp")
    assert phone.page.evaluate("document.documentElement.scrollWidth") <= 391
    phone.close()


def test_pages_work_on_a_phone_and_the_csp_blocks_nothing_they_need(chromium: Any, server: str,
                                                                   world: dict[str, Any]) -> None:
    visit = Visit(chromium, server, world["accounts"]["officer"], mobile=True)
    visit.check("/console/officer", "phone-officer-home")
    visit.check(f"/console/officer/people/{world['rosa']}", "phone-officer-person")
    width = visit.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, width  # nothing wider than the screen (tables scroll inside their own region)
    visit.close()
    # Without the test's bypass, the page's own CSP is in force: no violation is reported while it loads.
    context = chromium.new_context(locale="es-PE")
    page = context.new_page()
    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text
            else None)
    page.goto(f"{server}/console/login")
    page.fill("#username", world["accounts"]["admin"])
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Ingresar").click()
    page.goto(f"{server}/console/admin/jobs/{world['jobs'][1]}")
    page.goto(f"{server}/console/officer")  # a 403 page, styled
    assert re.search(r"<h1", page.content()) and blocked == [], blocked
    context.close()
