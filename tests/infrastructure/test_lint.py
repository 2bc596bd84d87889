"""cfn-lint on every synthesised template: clean, and able to catch a broken one (so "clean" means something)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import Synthesised

CFN_LINT = Path(sys.executable).with_name("cfn-lint")


def lint(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CFN_LINT), "--format", "parseable", str(path), *extra], capture_output=True,
                          text=True, timeout=600, check=False)


def test_cfn_lint_passes_on_every_synthesised_template(synthesised: dict[str, Synthesised]) -> None:
    for synth in synthesised.values():
        result = lint(synth.path)
        assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_catches_an_injected_error(dev: Synthesised, tmp_path: Path) -> None:
    broken = json.loads(json.dumps(dev.template))
    table = next(r for r in broken["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table")
    table["Properties"]["BillingMode"] = "FREE_OF_CHARGE"
    path = tmp_path / "broken.template.json"
    path.write_text(json.dumps(broken))

    result = lint(path)

    assert result.returncode != 0 and "FREE_OF_CHARGE" in result.stdout


def test_the_serverless_rules_pass_with_each_exception_explained(synthesised: dict[str, Synthesised]) -> None:
    """cfn-lint-serverless's rules (on the SAM functions Chalice makes, too): clean, and every rule a resource
    skips through `Metadata.cfn-lint` carries its reason beside it."""
    for synth in synthesised.values():
        result = lint(synth.path, "--append-rules", "cfn_lint_serverless.rules")
        assert result.returncode == 0, result.stdout + result.stderr
        for logical, resource in synth.resources.items():
            metadata = resource.get("Metadata", {})
            for rule in metadata.get("cfn-lint", {}).get("config", {}).get("ignore_checks", []):
                assert metadata.get("reasons", {}).get(rule), f"{logical} skips {rule} without a reason"


def test_the_serverless_rules_catch_a_scheduled_function_without_a_failure_destination(
        dev: Synthesised, tmp_path: Path) -> None:
    broken = json.loads(json.dumps(dev.template))
    function = next(r for r in broken["Resources"].values()
                    if any(e["Type"] == "Schedule" for e in r.get("Properties", {}).get("Events", {}).values()))
    del function["Properties"]["EventInvokeConfig"]
    path = tmp_path / "broken.template.json"
    path.write_text(json.dumps(broken))

    result = lint(path, "--append-rules", "cfn_lint_serverless.rules")

    assert result.returncode != 0 and "ES1007" in result.stdout


def test_cdk_nag_serverless_pack_leaves_no_finding_unexplained(synthesised: dict[str, Synthesised]) -> None:
    for synth in synthesised.values():
        found = [(v.rule_name, [r.resource_logical_id for r in v.violating_resources]) for v in synth.nag_violations]
        assert found == [], found


def test_cdk_nag_catches_an_unexplained_finding() -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_sqs as sqs
    from cdk_nag import ServerlessChecks

    app = cdk.App()
    stack = cdk.Stack(app, "Probe")
    sqs.Queue(stack, "NoRedrive", enforce_ssl=True)

    report = ServerlessChecks().validate_scope(stack)

    assert "Serverless-SQSRedrivePolicy" in {v.rule_name for v in report.violations}
