"""Virtual control over DynamoDB: one store per concept (key lookups and index queries only, never a scan)
and one transaction that writes any of their items together."""

from __future__ import annotations

from ...domain.control.ports import ControlStores
from ..dynamo_models import connection_for
from .checkins import DynamoCheckins, DynamoIncidents
from .measures import DynamoCalendars, DynamoEnrolments, DynamoMeasures
from .officers import DynamoContingencies, DynamoMarkers, DynamoOfficers, DynamoReports
from .warrants import DynamoWarrantsRegistry
from .writes import DynamoUnitOfWork

__all__ = ["DynamoWarrantsRegistry", "dynamo_control"]


def dynamo_control(region: str, host: str | None) -> ControlStores:
    # The process's one connection (one botocore client), as for every other table.
    connection = connection_for(region, host)
    uow = DynamoUnitOfWork(connection)
    return ControlStores(uow=uow, measures=DynamoMeasures(), enrolments=DynamoEnrolments(),
                         calendars=DynamoCalendars(), checkins=DynamoCheckins(), incidents=DynamoIncidents(),
                         officers=DynamoOfficers(), contingencies=DynamoContingencies(), reports=DynamoReports(),
                         markers=DynamoMarkers(uow))
