"""CDK entry point: `python infrastructure/cdk/cdk_app.py` synthesises one stage (`-c stage=...` or STAGE) offline.

Not named app.py: Chalice imports the project's `app` module to package it, and a second app.py on sys.path
(this folder, when run as a script) would be found instead.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Run as a script (the CDK CLI does), this folder leads sys.path; the project root must, for chalicelib and bot.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
if str(ROOT) in sys.path:
    sys.path.remove(str(ROOT))
sys.path.insert(0, str(ROOT))

# jsii warns on every run that this Node is older than it would like; it works, and the noise hides real errors.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk  # noqa: E402

from infrastructure.cdk.stack import APP_NAME, AntecedentesStack, StageOptions  # noqa: E402


def build_app(outdir: str | None = None, context: dict[str, str] | None = None) -> cdk.App:
    """The app with one stack for the stage; ``outdir`` defaults to the CLI's (CDK_OUTDIR) or infrastructure/cdk.out."""
    context = dict(context or {})
    if "stage" not in context and os.environ.get("STAGE") and os.environ.get("STAGE") != "local":
        context["stage"] = os.environ["STAGE"]
    out = outdir or os.environ.get("CDK_OUTDIR") or str(ROOT / "infrastructure" / "cdk.out")
    app = cdk.App(outdir=out, context=context)
    options = StageOptions.from_context(app.node)
    AntecedentesStack(app, f"{APP_NAME}-{options.stage}", options=options, build_dir=Path(out) / ".build",
                      description=f"Antecedentes ({options.stage}): certificate requests, documents, bot")
    return app


if __name__ == "__main__":
    build_app().synth()
