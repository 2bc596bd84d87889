"""Incidents (annex 4) and the daily incident report: types, who they go to, and the report's rows."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from .calendar import PERU, Window
from .measures import Measure


class IncidentType(StrEnum):
    IMPERSONATION = "impersonation"  # identidad no validada
    OUT_OF_AREA = "out_of_area"  # fuera de la jurisdicción permitida
    WARRANT = "warrant"  # posible orden de captura
    MISSED = "missed_checkin"  # ventana cerrada sin registro
    NOT_ENROLLED = "not_enrolled"  # sin empadronamiento al vencer el plazo del primer registro
    CONTINGENCY = "contingency"  # sistemas no disponibles


INCIDENT_DETAIL = {
    IncidentType.IMPERSONATION: "No validación de identidad (posible suplantación)",
    IncidentType.OUT_OF_AREA: "Usuario externo se encuentra fuera de la jurisdicción permitida",
    IncidentType.WARRANT: "Posible orden de captura",
    IncidentType.MISSED: "Control no realizado dentro del rango de fechas programado",
    IncidentType.NOT_ENROLLED: "Usuario externo no empadronado dentro del plazo del primer registro",
    IncidentType.CONTINGENCY: "Sistemas no disponibles (plan de contingencia)",
}
# Who is told (procedure 5.3 b–c, 6.3): warrants go to the police, the rest to the court; the CVP head in copy.
ADDRESSED_TO = {
    IncidentType.IMPERSONATION: ("court", "cvp_head"),
    IncidentType.OUT_OF_AREA: ("court", "cvp_head"),
    IncidentType.WARRANT: ("police", "cvp_head"),
    IncidentType.MISSED: ("court", "cvp_head"),
    IncidentType.NOT_ENROLLED: ("court", "cvp_head"),
    IncidentType.CONTINGENCY: ("cvp_head",),
}


@dataclass(frozen=True)
class Incident:
    incident_id: str
    type: IncidentType
    district: str
    day: date  # Peru's calendar day
    created_at: datetime
    measure_id: str
    full_name: str
    identity_document: str
    case_file: str
    court: str
    detail: str
    observations: str
    addressed_to: tuple[str, ...]
    status: str = "open"  # open | notified | closed
    notified: tuple[dict[str, str], ...] = ()
    checkin_id: str | None = None
    version: int = 0


def new_incident(incident_id: str, kind: IncidentType, measure: Measure, at: datetime, observations: str,
                 checkin_id: str | None = None, day: date | None = None) -> Incident:
    """An incident about a measure's person, with the annex 4 fields taken from the court's record."""
    person = measure.person
    return Incident(
        incident_id=incident_id, type=kind, district=measure.district, day=day or at.astimezone(PERU).date(),
        created_at=at, measure_id=measure.measure_id, full_name=person.full_name,
        identity_document=person.identity_document, case_file=measure.case_file, court=measure.court,
        detail=INCIDENT_DETAIL[kind], observations=observations, addressed_to=ADDRESSED_TO[kind],
        checkin_id=checkin_id)


def stable_incident_id(*parts: str) -> str:
    """The same facts always name the same incident, so a second run or a retry adds nothing."""
    return "i" + hashlib.sha256("#".join(parts).encode()).hexdigest()[:31]


def missed_observations(measure: Measure, window: Window, enrolled: bool) -> str:
    base = f"Sin registro en el periodo {window.start:%d/%m/%Y}–{window.end:%d/%m/%Y} (grupo {window.group})."
    if not enrolled:
        base += " La persona no se ha empadronado."
    if measure.group_changed:
        return f"{base} Ya usó el cambio de grupo; no puede solicitar otro."
    return (f"{base} La persona puede solicitar al órgano jurisdiccional, por única vez, anotar su asistencia "
            "en otro grupo (cambio de grupo aún no usado).")


# --- the daily incident report (annex 4) ----------------------------------------------------------------

ANNEX4_COLUMNS = ("Fecha de la incidencia", "Nombre completo del usuario externo", "Documento de identidad",
                  "N.° de expediente y órgano jurisdiccional", "Detalle de la incidencia", "Observaciones")
REPORT_TITLE = "REPORTE DE INCIDENCIAS DEL DÍA"


def annex4_row(incident: Incident) -> tuple[str, ...]:
    return (incident.day.strftime("%d/%m/%Y"), incident.full_name, incident.identity_document,
            f"{incident.case_file} — {incident.court}", incident.detail, incident.observations)


def report_csv(incidents: Sequence[Incident]) -> bytes:
    """The annex 4 columns, one row per incident; UTF-8 with a byte-order mark so spreadsheets read accents."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(ANNEX4_COLUMNS)
    writer.writerows(annex4_row(i) for i in incidents)
    return out.getvalue().encode("utf-8-sig")


def report_result(count: int) -> str:
    if count == 0:
        return "SIN INCIDENCIAS REGISTRADAS"
    return f"{count} INCIDENCIA{'S' if count != 1 else ''} REGISTRADA{'S' if count != 1 else ''}"


def incidents_fingerprint(incidents: Iterable[Incident]) -> str:
    """Which incidents a report holds: the same set means the same report (running twice changes nothing)."""
    return hashlib.sha256(",".join(sorted(i.incident_id for i in incidents)).encode()).hexdigest()


@dataclass(frozen=True)
class DailyReport:
    district: str
    day: date
    revision: int
    document_id: str
    pdf_key: str
    csv_key: str
    fingerprint: str
    incident_count: int
    created_at: datetime
    previous: tuple[str, ...] = ()  # document ids of earlier revisions, still verifiable
    emailed: bool = False
    version: int = 0
