"""Every page of the console, one blueprint per role (app.py registers them)."""

from __future__ import annotations

from . import (
    routes_admin,
    routes_audit,
    routes_auth,
    routes_court,
    routes_cvp,
    routes_indicators,
    routes_officer,
    routes_review,
)

BLUEPRINTS = (routes_auth.bp, routes_review.bp, routes_officer.bp, routes_cvp.bp, routes_court.bp, routes_admin.bp,
              routes_audit.bp, routes_indicators.bp)
