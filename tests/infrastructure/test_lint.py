"""cfn-lint on every synthesised template: clean, and able to catch a broken one (so "clean" means something)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import Synthesised

CFN_LINT = Path(sys.executable).with_name("cfn-lint")


def lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CFN_LINT), "--format", "parseable", str(path)], capture_output=True, text=True,
                          timeout=180, check=False)


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
