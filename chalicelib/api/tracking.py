"""The public tracking page of a request (the link in its e-mails): number, status, money; no personal data."""

from __future__ import annotations

import html
from typing import Any

from ..services.notifications import has_text, lima, money, push_text


def render_tracking(view: dict[str, Any]) -> str:
    lang = view.get("language") or "es"

    def t(key: str, **values: Any) -> str:
        return html.escape(push_text(key, lang, **{k: str(v) for k, v in values.items()}))

    status = view["status"]
    lines = [f"<p class=status id=status data-status=\"{html.escape(status)}\">"
             f"{t(f'track.status.{status}') if has_text(f'track.status.{status}') else html.escape(status)}</p>"]
    receipt = view.get("receipt") or {}
    if receipt.get("waived"):
        lines.append(f"<p>{t('track.waived', replaces=receipt.get('replaces', ''))}</p>")
    elif receipt:
        lines.append(f"<p>{t('track.receipt', amount=money(receipt['amount'], receipt['currency']),
                                operation=receipt['operation'], date=lima(receipt['paid_at']))}</p>")
    for refund in view.get("refunds") or []:
        state = push_text(f"track.refund.{refund['state']}", lang)
        lines.append(f"<p class=refund>{t('track.refund', amount=money(refund['amount'], refund['currency']),
                                           operation=refund['operation'], date=lima(refund['paid_at']),
                                           state=state)}</p>")
    document = view.get("document") or {}
    if document.get("revoked_at"):
        lines.append(f"<p>{t('track.revoked', date=lima(document['revoked_at'], with_time=False))}</p>")
    title = t("track.title", number=view["number"])
    return f"""<!doctype html>
<html lang="{html.escape(lang)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">
<title>{title} — INPE</title>
<style>
body{{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f5f7;color:#1b1b1b}}
header{{background:#7a0c0c;color:#fff;padding:.8rem 1rem}} main{{max-width:34rem;margin:0 auto;padding:1rem}}
.status{{font-size:1.3rem;font-weight:700;background:#fff;border-radius:.6rem;padding:1rem}}
footer{{color:#555;font-size:.9rem}}</style></head>
<body><header>Instituto Nacional Penitenciario</header><main><h1>{title}</h1>{"".join(lines)}
<footer>{t("track.note")}</footer></main></body></html>"""
