"""Operators (authenticated staff) and what each role may do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .errors import Forbidden


class Role(StrEnum):
    REVIEWER = "reviewer"  # Dirección de Registro Penitenciario: review queue, revocation
    CVP_HEAD = "cvp_head"  # Encargado del CVP
    OFFICER = "officer"  # Encargado de Atención de Control Virtual
    COURT = "court"  # judge and jurisdictional staff
    AUDITOR = "auditor"
    ADMIN = "admin"  # operators and registries


@dataclass(frozen=True)
class Operator:
    subject: str
    roles: frozenset[str]

    def require(self, *allowed: Role) -> None:
        if not self.roles.intersection(r.value for r in allowed):
            wanted = " or ".join(r.value for r in allowed)
            raise Forbidden(f"This action needs the role {wanted}.", code="missing_role")
