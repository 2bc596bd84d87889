"""`make indicators-rebuild FROM=2026-01 TO=2026-11 [WRITE=1]`: recompute the indicators' counters from the facts
kept for each counted event and compare them with the live counters; and count again the events still in the
outbox (it keeps a week) to find any the live handler missed. Exit 1 on any difference. With WRITE=1 the missed
events are counted and the recomputed counters replace the live ones where they differ."""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    from ..bootstrap import build
    from ..services.indicators import periods_between, rebuild, replay

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--from", dest="first", required=True, help="first month, YYYY-MM")
    parser.add_argument("--to", dest="last", required=True, help="last month, YYYY-MM")
    parser.add_argument("--write", action="store_true", help="replace the live counters that differ")
    args = parser.parse_args(argv)
    from ..adapters.dynamo_store import DynamoStore

    c = build()
    periods = periods_between(args.first, args.last)
    outbox = DynamoStore(c.settings.aws_region, c.settings.dynamodb_endpoint).recent_events(limit=1_000_000)
    unrecorded = replay(outbox, periods, indicators=c.indicators, store=c.store,
                        checkins=c.control.checkins, measures=c.control.measures, write=args.write)
    result = {**rebuild(periods, indicators=c.indicators, write=args.write), "unrecorded_events": len(unrecorded)}
    print(json.dumps(result, ensure_ascii=False))
    return 1 if (result["differences"] or unrecorded) and not args.write else 0


if __name__ == "__main__":
    sys.exit(main())
