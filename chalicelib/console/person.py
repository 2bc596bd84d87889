"""A person's file as a page: each check-in's evidence in order (the selfie beside the photo on file, the map of
the permitted area with the reported point and its accuracy, the questions' outcome but never the answers, the
place and — for the roles that handle them — warrant results), and the short-lived links to the photos, whose
showing is audited."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..domain.control.checkins import Checkin
from ..domain.operators import Role
from ..services.control.person_file import PersonFile
from .maps import Point, area_map, public_map_link
from .web import Ctx

# Who sees the warrant check's result: the officers and the CVP head act on it (procedure 5.3 c, 5.4 e); court
# staff follow compliance.
WARRANT_READERS = frozenset({Role.OFFICER.value, Role.CVP_HEAD.value})
STEP_KEYS = ("started", "location", "location_refused", "selfie", "questions", "place", "warrant_check",
             "held_for_review", "officer_review", "contingency", "registered", "window_closed")


def _link(ctx: Ctx, key: str | None, content_type: str = "image/jpeg") -> str | None:
    if not key:
        return None
    url = ctx.c.media.link(key, subject=ctx.operator.subject, content_type=content_type)
    origin = urlsplit(url)
    if origin.scheme and origin.netloc:
        ctx.image_origins.add(f"{origin.scheme}://{origin.netloc}")
    return url


def _location(checkin: Checkin) -> Point | None:
    where = checkin.location or next((e for e in checkin.evidence if e.get("step") == "location"), None)
    if not where or "latitude" not in where:
        return None
    return Point(float(where["latitude"]), float(where["longitude"]), float(where.get("accuracy_m") or 0))


def checkin_view(ctx: Ctx, pf: PersonFile, checkin: Checkin) -> dict[str, Any]:
    t = ctx.t
    point = _location(checkin)
    steps = []
    selfie: dict[str, Any] | None = None
    for e in checkin.evidence:
        step = str(e.get("step"))
        if step == "warrant_check" and pf.as_role not in WARRANT_READERS:
            steps.append({"step": step, "at": e.get("at"), "text": t("step.warrant_check.done")})
            continue
        if step == "selfie":
            kind = e.get("kind", "photo")
            selfie = {"kind": kind, "result": e.get("face_result"), "similarity": e.get("similarity"),
                      "url": _link(ctx, e.get("storage_key"), "video/mp4" if kind == "video_note" else "image/jpeg")}
        steps.append({"step": step, "at": e.get("at"), "text": step_text(t, step, e)})
    area = pf.measure.area
    label = pf.measure.area_label or t("map.no_area")
    description = (t("map.desc.point", lat=f"{point.latitude:.5f}", lon=f"{point.longitude:.5f}",
                     accuracy=round(point.accuracy_m), area=label) if point else t("map.desc.no_point", area=label))
    return {"checkin": checkin, "steps": steps, "selfie": selfie, "point": point,
            "map": area_map(area, point, title=t("map.title", window=checkin.window_key), description=description,
                            uid=f"m-{checkin.checkin_id[:12]}") if (area or point) else None,
            "public_map": public_map_link(point) if point else None}


def step_text(t: Any, step: str, e: dict[str, Any]) -> str:
    if step == "location":
        return t("step.location", lat=f"{float(e['latitude']):.5f}", lon=f"{float(e['longitude']):.5f}",
                 accuracy=round(float(e.get("accuracy_m") or 0)))
    if step == "place":
        return t(f"step.place.{e.get('result')}", distance=e.get("distance_m", 0))
    if step == "questions":
        return t(f"step.questions.{e.get('result')}")
    if step == "warrant_check":
        return t("step.warrant_check.possible" if e.get("possible") else "step.warrant_check.none")
    if step == "selfie":
        return t(f"face.{e.get('face_result')}") if e.get("face_result") else t("step.selfie")
    if step == "officer_review":
        return t(f"step.officer_review.{e.get('decision')}", officer=e.get("officer", ""))
    if step in ("held_for_review", "location_refused", "contingency"):
        return t(f"step.{step}", reason=e.get("reason") or e.get("registry") or "")
    return t(f"step.{step}") if step in STEP_KEYS else step


def person_view(ctx: Ctx, pf: PersonFile) -> dict[str, Any]:
    """Everything the person page shows; the photos' links are made here, and that showing is audited."""
    enrolment = pf.enrolment
    photo = _link(ctx, enrolment.photo_key if enrolment else None)
    checkins = [checkin_view(ctx, pf, k) for k in pf.checkins]
    shown = (1 if photo else 0) + sum(1 for k in checkins if k["selfie"] and k["selfie"]["url"])
    if shown:
        ctx.audit("person.photos_shown", pf.measure.measure_id, count=shown, as_role=pf.as_role)
    return {"pf": pf, "photo_on_file": photo, "checkins": checkins,
            "show_warrants": pf.as_role in WARRANT_READERS}
