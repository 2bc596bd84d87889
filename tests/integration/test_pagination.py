"""Cursor pagination: a list of 1,000 entries read page by page with opaque signed cursors; a forged, edited or
borrowed cursor is refused naming `cursor`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.domain.ports import AuditEntry


def test_a_thousand_audit_entries_come_whole_in_pages_and_cursors_cannot_be_forged(api):
    day = datetime(2031, 3, 14, tzinfo=UTC)  # a day of this test's own in the shared audit table
    for n in range(1000):
        api.c.audit.append(AuditEntry(at=day + timedelta(seconds=n * 80), actor="op-page", role="admin",
                                      action="page.test", target=f"T{n:04d}"))
    headers = api.operator_headers("auditor")
    seen, cursor, pages = [], None, 0
    while True:
        query = "/v1/admin/audit?day=2031-03-14&limit=300" + (f"&cursor={cursor}" if cursor else "")
        answer = api.client.http.get(query, headers=headers)
        assert answer.status_code == 200, answer.body
        seen += [item["target"] for item in answer.json_body["items"]]
        pages += 1
        cursor = answer.json_body["next_cursor"]
        if cursor is None:
            break
        assert "T0" not in cursor and "op-page" not in cursor  # opaque: nothing of the entries shows
    assert pages == 4 and seen == [f"T{n:04d}" for n in range(1000)]

    first = api.client.http.get("/v1/admin/audit?day=2031-03-14&limit=10", headers=headers).json_body["next_cursor"]
    body, _, tag = first.partition(".")
    for bad in (body + "." + tag[::-1], body[:-2] + "AA." + tag, "garbage", "x" * 5000):
        answer = api.client.http.get(f"/v1/admin/audit?day=2031-03-14&cursor={bad}", headers=headers)
        assert answer.status_code == 422 and answer.json_body["error"]["field"] == "cursor", bad[:40]
    borrowed = api.client.http.get(f"/v1/admin/audit?day=2031-03-15&cursor={first}", headers=headers)
    assert borrowed.status_code == 422 and borrowed.json_body["error"]["code"] == "invalid_cursor"


def test_a_callers_requests_come_newest_first_in_pages_and_a_cursor_is_its_own(api):
    from tests.integration.control_support import uuid_part

    user = f"telegram:page{uuid_part()}"
    made = []
    for _ in range(23):
        made.append(api.created(user=user)["request_id"])
        api.c.clock.advance(seconds=1)  # newest first is then the reverse order of creation
    seen, cursor = [], None
    while True:
        path = "/v1/certificate-requests?limit=10" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(path, user=user)
        assert page.status_code == 200, page.body
        seen += [item["request_id"] for item in page.json_body["items"]]
        cursor = page.json_body["next_cursor"]
        if cursor is None:
            break
        assert user.split(":")[1] not in cursor
        mine = cursor
    assert seen == made[::-1]
    assert api.get("/v1/certificate-requests", user=user).json_body["items"][0]["request_id"] == seen[0]
    other = api.get(f"/v1/certificate-requests?cursor={mine}", user="telegram:someone-else")
    assert other.status_code == 422 and other.json_body["error"]["field"] == "cursor"


def test_the_review_queue_pages_through_every_waiting_case_once(api):
    from tests.factories import CARLOS, JOSE

    for n, person in enumerate((JOSE, CARLOS, JOSE, CARLOS, JOSE)):
        api.paid(person, user=f"telegram:30{n}")
        api.c.clock.advance(seconds=1)
    api.run_worker()
    headers = api.operator_headers("reviewer")
    whole = api.client.http.get("/v1/admin/review-queue?limit=200", headers=headers).json_body
    assert len(whole["items"]) >= 5 and whole["next_cursor"] is None
    seen, cursor = [], None
    while True:
        page = api.client.http.get("/v1/admin/review-queue?limit=2" + (f"&cursor={cursor}" if cursor else ""),
                                   headers=headers).json_body
        assert len(page["items"]) <= 2
        seen += [item["request_id"] for item in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert seen == [item["request_id"] for item in whole["items"]]
