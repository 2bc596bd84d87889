"""Operators (authenticated staff), what each role may do, and the scope of person-level data they may read."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from .errors import Forbidden

ALL = "*"  # a scope claim that covers every district or court


class Role(StrEnum):
    REVIEWER = "reviewer"  # Dirección de Registro Penitenciario: review queue, revocation
    CVP_HEAD = "cvp_head"  # Encargado del CVP
    OFFICER = "officer"  # Encargado de Atención de Control Virtual
    COURT = "court"  # judge and jurisdictional staff
    AUDITOR = "auditor"
    ADMIN = "admin"  # operators and registries


# Roles whose work is national: they are not limited to districts or courts.
NATIONAL_ROLES = frozenset({Role.ADMIN.value, Role.AUDITOR.value})


@dataclass(frozen=True)
class Operator:
    subject: str
    roles: frozenset[str]
    # From the token's claims (Cognito custom attributes in the cloud, the local issuer locally): the judicial
    # districts a CVP head or an officer works in, and the courts (1801-JR-PE-01) a court's staff belong to.
    districts: frozenset[str] = field(default_factory=frozenset)
    courts: frozenset[str] = field(default_factory=frozenset)

    def require(self, *allowed: Role) -> None:
        if not self.roles.intersection(r.value for r in allowed):
            wanted = " or ".join(r.value for r in allowed)
            raise Forbidden(f"This action needs the role {wanted}.", code="missing_role")

    @property
    def national(self) -> bool:
        return bool(self.roles & NATIONAL_ROLES)

    def covers_district(self, district: str) -> bool:
        return self.national or ALL in self.districts or district in self.districts

    def covers_court(self, court_code: str) -> bool:
        return self.national or ALL in self.courts or court_code in self.courts

    def sees(self, district: str, court_code: str, as_roles: frozenset[str] | None = None) -> bool:
        """Whether person-level data of a measure (its district, its court) is in this operator's scope, for
        the roles the route admits: court staff by court, CVP heads and officers by district."""
        roles = self.roles if as_roles is None else self.roles & as_roles
        if roles & NATIONAL_ROLES:
            return True
        if Role.COURT.value in roles and self.covers_court(court_code):
            return True
        return bool(roles & {Role.CVP_HEAD.value, Role.OFFICER.value}) and self.covers_district(district)

    def require_district(self, district: str) -> None:
        if not self.covers_district(district):
            raise Forbidden("This district is outside your scope.", code="out_of_scope", field="district")
