"""Load the fictitious people of the local registries from CSV (safe to run at every start)."""

from __future__ import annotations

import calendar
from datetime import date
from pathlib import Path
from typing import Any

from chalicelib.domain.control.calendar import parse_calendar
from chalicelib.domain.operators import Operator
from chalicelib.services import jobs
from chalicelib.services.time import peru_today

SEED_DIR = Path(__file__).resolve().parent / "seed"


def seed(c: Any) -> dict[str, int]:
    counts = {}
    importers = c.importers()
    seeder = Operator("local-seed", frozenset({"admin"}))
    for registry in ("identity", "penitentiary", "warrants"):
        # The one import mechanism: a job (staged, then switched), run to its end here.
        job = jobs.run_import(registry, (SEED_DIR / f"{registry}.csv").read_bytes(), f"{registry}.csv",
                              operator=seeder, jobs=c.jobs, storage=c.storage, importers=importers, audit=c.audit,
                              clock=c.clock)
        counts[registry] = job.units
    year = peru_today(c.clock.now()).year
    # Seeded quietly: publishing a calendar (PUT /v1/admin/calendars/...) is what tells people their windows.
    tx = c.control.uow.begin()
    for district in ("LIMA", "CALLAO", "AREQUIPA", "CUSCO"):
        for y in (year, year + 1):
            tx.put_calendar(parse_calendar(y, district, sample_calendar(y)))
        c.control.officers.add_district(district)
    tx.commit()
    counts["calendars"] = 8
    counts["operators"] = seed_operators(c)
    return counts


# The console's operators on the local stack (README: "Signing in to the console"); fictitious, local only.
OPERATORS = (
    ("revisora", "Rocío Revisora", ("reviewer",), (), ()),
    ("oficial", "Óscar Oficial de atención", ("officer",), ("LIMA",), ()),
    ("jefe.cvp", "Julia Encargada del CVP", ("cvp_head",), ("LIMA",), ()),
    ("juzgado", "Jaime Juez", ("court",), (), ("1801-JR-PE-01",)),
    ("admin", "Ana Administradora", ("admin",), (), ()),
    ("auditora", "Aurora Auditora", ("auditor",), (), ()),
)
LOCAL_PASSWORD = "Consola-Local-2026"


def seed_operators(c: Any) -> int:
    """One operator per role, created once (a password changed later is kept); CONSOLE_SEED_PASSWORD sets theirs."""
    import os

    from chalicelib.domain.accounts import OperatorAccount, hash_password
    from chalicelib.domain.ports import AlreadyExists

    hashed = ""  # scrypt only when an account is missing: a start on kept data hashes nothing
    created = 0
    for username, name, roles, districts, courts in OPERATORS:
        if c.accounts.get_account(username) is not None:
            continue
        hashed = hashed or hash_password(os.environ.get("CONSOLE_SEED_PASSWORD") or LOCAL_PASSWORD)
        try:
            c.accounts.put_account(OperatorAccount(username, name, frozenset(roles), frozenset(districts),
                                                   frozenset(courts), password_hash=hashed))
            created += 1
        except AlreadyExists:
            pass
    return created


def sample_calendar(year: int) -> dict[str, Any]:
    """A fictitious annual calendar: group A reports on days 1–15 of each month, group B from the 16th on."""
    groups: dict[str, list[dict[str, Any]]] = {"A": [], "B": []}
    for month in range(1, 13):
        last = calendar.monthrange(year, month)[1]
        groups["A"].append({"period": month, "start": date(year, month, 1).isoformat(),
                            "end": date(year, month, 15).isoformat()})
        groups["B"].append({"period": month, "start": date(year, month, 16).isoformat(),
                            "end": date(year, month, last).isoformat()})
    return {"groups": groups}
