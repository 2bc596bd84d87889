"""The CDK app synthesised once per session (dev and prod) for the infrastructure tests; needs .tools-venv.

These tests run under `.tools-venv/bin/python -m pytest tests/infrastructure` (`make test-infrastructure`, part of
`make test`); the project's own venv has no aws_cdk, so there this folder is not collected.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import pytest

if importlib.util.find_spec("aws_cdk") is None:
    collect_ignore_glob = ["test_*.py"]

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # chalice package needs a region, never credentials

# Production as an operator deploys it (with an SES sender); dev with nothing but its name.
STAGES = {"dev": {"stage": "dev"},
          "prod": {"stage": "prod", "email_from": "no-reply@inpe.example.pe", "alarm_email": "ops@inpe.example.pe",
                   "public_base_url": "https://antecedentes.example.pe"}}


class Synthesised:
    """One stage's template (as a dict and as a CDK assertions Template) and where it was written."""

    def __init__(self, out_dir: Path, stage: str, nag: list[Any] | None = None) -> None:
        self.out_dir = out_dir
        self.stage = stage
        self.nag_violations = nag or []  # cdk-nag's serverless pack: what is left unacknowledged
        self.path = out_dir / f"antecedentes-{stage}.template.json"
        self.template: dict[str, Any] = json.loads(self.path.read_text())
        self.resources: dict[str, Any] = self.template["Resources"]

    def assertions(self) -> Any:
        from aws_cdk.assertions import Template

        return Template.from_json(self.template)

    def of_type(self, *types: str) -> dict[str, Any]:
        return {k: v for k, v in self.resources.items() if v["Type"] in types}


@pytest.fixture(scope="session")
def synthesised(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Synthesised]:
    from cdk_nag import ServerlessChecks

    from infrastructure.cdk.cdk_app import build_app

    result = {}
    for stage, context in STAGES.items():
        out_dir = tmp_path_factory.mktemp(f"cdk-{stage}")
        app = build_app(outdir=str(out_dir), context=context)
        # cdk-nag 3 checks a construct tree directly; acknowledged findings (with their reasons) are left out.
        report = ServerlessChecks().validate_scope(app.node.children[0])
        app.synth()
        result[stage] = Synthesised(out_dir, stage, list(report.violations))
    return result


@pytest.fixture(scope="session")
def dev(synthesised: dict[str, Synthesised]) -> Synthesised:
    return synthesised["dev"]


@pytest.fixture(scope="session")
def prod(synthesised: dict[str, Synthesised]) -> Synthesised:
    return synthesised["prod"]
