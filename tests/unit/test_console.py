"""The console's rules on the fakes: passwords and lockout, sessions (idle timeout, lifetime, CSRF, the form kept
when one runs out), the administrator's changes, the auditor's search, area files, offline maps, signed links,
exports, and one catalogue in two languages that every page's text comes from."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib.adapters.media_links import SignedLocalLinks
from chalicelib.console import i18n
from chalicelib.console.exports import to_csv, to_xlsx
from chalicelib.console.maps import Point, area_map
from chalicelib.domain.accounts import OperatorAccount, hash_password, parse_account, password_matches
from chalicelib.domain.control.area_files import area_from_file
from chalicelib.domain.errors import DomainError, Unauthenticated, ValidationError
from chalicelib.domain.operators import Operator
from chalicelib.domain.ports import AuditEntry
from chalicelib.domain.sessions import IDLE_TIMEOUT, draft_of
from chalicelib.services import audit_search, console_auth, operator_admin
from chalicelib.services.time import FixedClock
from tests.fakes_console import FakeConsoleSessions, FakeOperatorAccounts
from tests.fakes_control import MemoryAudit
from tests.unit.control.world import ROSA, World

NOW = datetime(2026, 11, 20, 15, tzinfo=UTC)
PASSWORD = "Clave-segura-2026"


@pytest.fixture
def desk() -> dict[str, Any]:
    accounts = FakeOperatorAccounts()
    accounts.put_account(OperatorAccount("ana", "Ana", frozenset({"officer"}), frozenset({"LIMA"}),
                                         password_hash=hash_password(PASSWORD)))
    return {"accounts": accounts, "sessions": FakeConsoleSessions(), "audit": MemoryAudit(), "clock": FixedClock(NOW)}


def sign_in(d: dict[str, Any], password: str = PASSWORD, username: str = "ana") -> Any:
    return console_auth.sign_in(username, password, "es", accounts=d["accounts"], sessions=d["sessions"],
                                audit=d["audit"], clock=d["clock"])


def test_passwords_are_kept_as_scrypt_hashes_that_only_the_password_matches() -> None:
    stored = hash_password(PASSWORD)
    assert stored.startswith("scrypt$") and PASSWORD not in stored
    assert password_matches(PASSWORD, stored) and not password_matches("clave-segura-2026", stored)
    assert hash_password(PASSWORD) != stored  # salted
    assert not password_matches(PASSWORD, "plain$text") and not password_matches(PASSWORD, "")


def test_five_wrong_passwords_in_a_row_lock_the_account_for_fifteen_minutes(desk: dict[str, Any]) -> None:
    for _ in range(4):
        with pytest.raises(Unauthenticated) as wrong:
            sign_in(desk, "otra-clave-2026")
        assert wrong.value.code == "bad_credentials"
    with pytest.raises(Unauthenticated) as locked:
        sign_in(desk, "otra-clave-2026")
    assert locked.value.code == "account_locked"
    with pytest.raises(Unauthenticated) as still:
        sign_in(desk)  # the right password changes nothing while locked
    assert still.value.code == "account_locked"
    desk["clock"].advance(minutes=15, seconds=1)
    token, session = sign_in(desk)
    assert session.operator.subject == "ana" and desk["accounts"].get_account("ana").failures == 0
    assert desk["audit"].actions().count("console.sign_in_failed") == 5 and "console.sign_in" in desk["audit"].actions()


def test_an_unknown_or_inactive_user_gets_the_answer_of_a_wrong_password(desk: dict[str, Any]) -> None:
    for name in ("nadie", ""):
        with pytest.raises(Unauthenticated) as refused:
            sign_in(desk, username=name)
        assert refused.value.code == "bad_credentials"
    entry = desk["audit"].entries[0]
    assert entry.actor == "unknown" and "nadie" not in str(entry.details)


def test_a_session_ends_after_thirty_idle_minutes_and_after_twelve_hours_however_used(desk: dict[str, Any]) -> None:
    token, session = sign_in(desk)
    sessions, clock = desk["sessions"], desk["clock"]
    assert session.session_id != token and token not in str(sessions.sessions)  # only the hash is stored
    for _ in range(25):
        clock.advance(minutes=29)
        found, expired = console_auth.current_session(token, sessions=sessions, clock=clock)
        assert (found is None and expired) is (clock.now() - NOW > timedelta(hours=12))
    token, _ = sign_in(desk)
    clock.advance(seconds=IDLE_TIMEOUT.total_seconds() + 1)
    assert console_auth.current_session(token, sessions=sessions, clock=clock) == (None, True)
    assert console_auth.current_session("forged", sessions=sessions, clock=clock) == (None, False)


def test_a_sign_in_makes_a_new_session_and_sign_out_ends_it(desk: dict[str, Any]) -> None:
    first, _ = sign_in(desk)
    second, session = sign_in(desk)
    assert first != second
    console_auth.sign_out(session, sessions=desk["sessions"], audit=desk["audit"], clock=desk["clock"])
    assert console_auth.current_session(second, sessions=desk["sessions"], clock=desk["clock"])[0] is None
    assert session.csrf_ok(session.csrf) and not session.csrf_ok("") and not session.csrf_ok(None)


def test_the_form_kept_after_a_session_ran_out_leaves_out_the_csrf_token_and_passwords() -> None:
    kept = draft_of("/console/officer/people/m1/reopen", {"csrf_token": "x", "password": "p", "reason": "Llamé."})
    assert kept == {"path": "/console/officer/people/m1/reopen", "fields": {"reason": "Llamé."}}
    assert draft_of("/console/x", {"csrf_token": "x", "reason": "  "}) is None
    assert draft_of("https://evil/", {"reason": "x"}) is None


def test_the_administrators_form_checks_roles_scope_and_password_and_audits_without_the_password(
        desk: dict[str, Any]) -> None:
    admin = Operator("root", frozenset({"admin"}))

    def save(who: str | None, **data: Any) -> Any:
        return operator_admin.save_operator(who, data, operator=admin, accounts=desk["accounts"],
                                            audit=desk["audit"], clock=desk["clock"])

    with pytest.raises(DomainError) as refused:
        save(None, username="x", name="", roles=["officer"], districts="", password="corta")
    fields = {e["field"] for e in refused.value.details["errors"]}
    assert fields == {"username", "name", "districts", "password"}
    created = save(None, username="julia", name="Julia Jueza", roles=["court"], courts="1801-jr-pe-01",
                   password=PASSWORD)
    assert created.courts == frozenset({"1801-JR-PE-01"}) and password_matches(PASSWORD, created.password_hash)
    assert PASSWORD not in str(desk["audit"].entries[-1].details)
    with pytest.raises(DomainError) as taken:
        save(None, username="julia", name="Otra", roles=["court"], courts="*", password=PASSWORD)
    assert taken.value.code == "username_taken"
    with pytest.raises(DomainError) as own:
        operator_admin.save_operator("root", {"name": "Root", "roles": ["auditor"]}, operator=admin,
                                     accounts=_with_root(desk), audit=desk["audit"], clock=desk["clock"])
    assert own.value.code == "own_account"


def _with_root(d: dict[str, Any]) -> FakeOperatorAccounts:
    d["accounts"].put_account(OperatorAccount("root", "Root", frozenset({"admin"}), password_hash="x"))
    return d["accounts"]


def test_an_administrator_unlocks_an_account_or_resets_its_password() -> None:
    locked = OperatorAccount("ana", "Ana", frozenset({"auditor"}), password_hash=hash_password(PASSWORD)).failed(NOW)
    for _ in range(4):
        locked = locked.failed(NOW)
    assert locked.locked(NOW)
    unlocked = parse_account({"name": "Ana", "roles": ["auditor"], "unlock": True}, existing=locked)
    assert not unlocked.locked(NOW) and unlocked.password_hash == locked.password_hash
    reset = parse_account({"name": "Ana", "roles": ["auditor"], "password": "Nueva-clave-2026"}, existing=locked)
    assert not reset.locked(NOW) and password_matches("Nueva-clave-2026", reset.password_hash)
    cloud = parse_account({"username": "maria", "name": "María", "roles": ["reviewer"]}, existing=None,
                          with_password=False)
    assert cloud.password_hash == ""  # Cognito keeps the passwords


def test_the_auditor_finds_reads_of_a_persons_data_by_document_number_and_by_operator() -> None:
    w = World()
    rosa = w.measure(ROSA)
    audit = w.audit
    for minutes, actor, action in ((0, "ana", "person.read"), (5, "bob", "officer.call"), (10, "ana", "measure.read")):
        audit.append(AuditEntry(NOW + timedelta(minutes=minutes), actor, "officer", action, rosa.measure_id))
    audit.append(AuditEntry(NOW - timedelta(days=3), "ana", "officer", "person.read", rosa.measure_id))
    auditor = Operator("aud", frozenset({"auditor"}))
    query = audit_search.parse_query({"person": "70112233", "reads": "1"}, NOW.date())
    found = audit_search.search_audit(query, operator=auditor, audit=audit, measures=w.k.measures, clock=w.clock)
    assert [(e.actor, e.action) for e in found] == [("ana", "measure.read"), ("ana", "person.read")]
    by_operator = audit_search.search_audit(audit_search.parse_query({"operator": "bob", "from": "2026-11-17"},
                                                                     NOW.date()),
                                            operator=auditor, audit=audit, measures=w.k.measures, clock=w.clock)
    assert [e.action for e in by_operator] == ["officer.call"]
    searched = audit.entries[-1]
    assert searched.action == "audit.search" and "70112233" not in str(audit.entries[-2].details)
    for bad in ({"from": "2026-01-01"}, {"from": "2026-11-21"}, {"person": "70-11"}, {"to": "ayer"}):
        with pytest.raises(ValidationError):
            audit_search.parse_query(bad, NOW.date())


def test_a_search_by_peru_day_finds_the_evening_kept_under_the_next_utc_day() -> None:
    """22:00 in Lima is 03:00 UTC the next day: the search by day reads that UTC day too (and not the day before)."""
    audit = MemoryAudit()
    evening = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # 30 November, 22:00 in Peru
    audit.append(AuditEntry(evening, "ana", "auditor", "console.sign_in", "ana"))
    audit.append(AuditEntry(datetime(2026, 11, 30, 3, 0, tzinfo=UTC), "ana", "auditor", "console.sign_in", "ana"))
    query = audit_search.parse_query({"from": "2026-11-30", "to": "2026-11-30"}, evening.date())
    found = audit_search.search_audit(query, operator=Operator("aud", frozenset({"auditor"})), audit=audit,
                                      measures=World().k.measures, clock=FixedClock(evening))
    assert [e.at for e in found] == [evening]  # 29 November 22:00 in Peru is another day


POLYGON = [[-77.05, -12.13], [-77.01, -12.13], [-77.01, -12.10], [-77.05, -12.10], [-77.05, -12.13]]
KML = ('<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><Polygon>'
       '<outerBoundaryIs><LinearRing><coordinates>{}</coordinates></LinearRing></outerBoundaryIs></Polygon>'
       '</Placemark></Document></kml>')


def test_an_area_comes_from_geojson_or_kml_files_as_one_polygon_or_several() -> None:
    import json

    feature = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [POLYGON]}}
    assert area_from_file("a.geojson", json.dumps(feature).encode()) == {"type": "Polygon", "coordinates": [POLYGON]}
    collection = {"type": "FeatureCollection", "features": [feature, feature]}
    assert area_from_file("a.json", json.dumps(collection).encode())["type"] == "MultiPolygon"
    text = " ".join(f"{x},{y},0" for x, y in POLYGON)
    assert area_from_file("area.kml", KML.format(text).encode()) == {"type": "Polygon", "coordinates": [POLYGON]}


@pytest.mark.parametrize(("name", "data"), [
    ("a.geojson", b'{"type": "Point", "coordinates": [1, 2]}'),
    ("a.geojson", b"not json"),
    ("a.kml", b"<kml><Placemark>"),
    ("a.kml", b'<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY a "aaaa">]><kml>&a;</kml>'),
    ("a.kml", KML.format("-77.05 -12.13").encode()),
    ("a.kml", b""),
])
def test_a_malformed_area_file_is_refused_naming_the_field(name: str, data: bytes) -> None:
    with pytest.raises(ValidationError) as refused:
        area_from_file(name, data)
    assert refused.value.field == "area_file"


def test_the_map_draws_the_area_the_point_and_its_accuracy_with_a_scale_bar_and_a_description() -> None:
    svg = str(area_map({"type": "Polygon", "coordinates": [POLYGON]}, Point(-12.115, -77.03, 40.0),
                       title="Mapa <del periodo>", description="Punto", uid="m1"))
    assert svg.startswith('<svg class="map"') and 'role="img"' in svg and 'aria-labelledby="m1-t m1-d"' in svg
    assert "&lt;del periodo&gt;" in svg and "<path d=\"M " in svg and svg.count("<circle") == 2
    assert re.search(r">\d+(\.\d+)? k?m</text>", svg)
    assert str(area_map(None, None, title="x", description="y", uid="m2")) == ""
    alone = str(area_map(None, Point(-12.1, -77.0, 0), title="x", description="y", uid="m3"))
    assert alone.count("<circle") == 1 and "<path d=\"M " not in alone.split("<g>")[0]


def test_a_signed_link_serves_one_file_to_one_operator_until_it_expires() -> None:
    now = [1000.0]
    links = SignedLocalLinks("secret", "/api", clock=lambda: now[0])
    url = links.link("control/x.jpg", subject="ana", content_type="image/jpeg", seconds=300)
    assert url.startswith("/api/console/media/")
    token = url.rsplit("/", 1)[1]
    found = links.verify(token)
    assert found is not None and (found.key, found.subject) == ("control/x.jpg", "ana")
    payload, signature = token.split(".")
    assert links.verify(payload[:-2] + "AA." + signature) is None
    assert SignedLocalLinks("other-secret", "").verify(token) is None
    now[0] += 301
    assert links.verify(token) is None


def test_a_media_link_and_an_upload_link_cannot_stand_for_each_other() -> None:
    """Both are signed with the same local secret, each under its own purpose: a photo link an officer was given
    does not open an upload, and an upload's token does not open a stored file."""
    from chalicelib.adapters.upload_links import SignedLocalUploads

    links, uploads = SignedLocalLinks("secret", ""), SignedLocalUploads("secret", "")
    media_token = links.link("jobs/x/input.csv", subject="ana", content_type="text/csv").rsplit("/", 1)[1]
    upload_token = uploads.presign("uploads/x.csv", content_type="text/csv", max_bytes=10)["url"].rsplit("/", 1)[1]
    assert uploads.verify(upload_token) is not None and links.verify(media_token) is not None
    assert uploads.verify(media_token) is None and links.verify(upload_token) is None


def test_exports_are_csv_with_a_byte_order_mark_and_a_real_spreadsheet() -> None:
    import zipfile
    from io import BytesIO

    data = to_csv(["name", "note"], [("Peña", "=1+1"), ("Ana", None)])
    assert data.startswith(b"\xef\xbb\xbf") and "Peña,=1+1" in data.decode("utf-8-sig")
    book = zipfile.ZipFile(BytesIO(to_xlsx("lista", ["name"], [("Peña",), ("=CMD()",)])))
    strings = book.read("xl/sharedStrings.xml").decode()
    assert "Peña" in strings and "=CMD()" in strings and "<f>" not in book.read("xl/worksheets/sheet1.xml").decode()


TEMPLATES = Path(i18n.__file__).with_name("templates")
KEY = re.compile(r"""\b(?:t|tn|ctx\.t)\(\s*(['"])([a-z_.0-9]+)\1\s*[,)]""")


def test_both_languages_have_every_text_with_the_same_placeholders() -> None:
    es, es_mo = i18n.catalogue("es")
    en, en_mo = i18n.catalogue("en")
    assert set(es) == set(en) and len(es) > 400
    for key in es:
        assert i18n.placeholders(es[key]) == i18n.placeholders(en[key]), key
    assert es_mo.ngettext("audit.count", "audit.count.plural", 1) == "{count} entrada"
    assert en_mo.ngettext("audit.count", "audit.count.plural", 2) == "{count} entries"


def test_every_text_the_pages_and_views_name_is_in_the_catalogue() -> None:
    es, es_mo = i18n.catalogue("es")
    sources = [*TEMPLATES.glob("*.html"), *TEMPLATES.parent.glob("*.py")]
    named = {m.group(2) for path in sources for m in KEY.finditer(path.read_text(encoding="utf-8"))}
    plurals = {"audit.count", "court.found", "cvp.calendar.people", "measure.every_months", "age.minutes",
               "age.hours", "age.days"}
    assert named and not {k for k in named - plurals if k not in es}, sorted(named - set(es) - plurals)
    t, tn = i18n.translator("en"), i18n.plural_translator("es")
    assert t("review.case.title", number="2026-000001") == "Request 2026-000001"
    assert tn("cvp.calendar.people", 3) == "3 personas" and t("no.such.key") == "no.such.key"
