"""Cold start of the Lambda entry points (import time beside `import boto3`) and the size of each deployment package.

The imports run in fresh interpreters started with -S (no site-packages) on the unpacked deployment packages, so
they load exactly what Lambda loads, not whatever else the development venv holds (httpx, for one, imports
click, pygments and rich when they are installed). Prints `name: value` lines:
  boto3_import_ms, api_import_ms, api_import_ratio, bot_import_ms, bot_import_ratio, api_package_mb,
  bot_package_mb, api_/bot_heaviest_imports (from python -X importtime) to show where the time goes, and the
  same figures without the compiled bytecode the packages carry (*_without_pyc_*), to show what it buys.
Targets: API within 2x of boto3, bot within 2.5x; each package under 50 MB zipped.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RUNS = int(os.environ.get("COLDSTART_RUNS", "7"))
# What Lambda gives a traced function: with a daemon address, chalicelib.tracing loads the X-Ray SDK.
LAMBDA_ENV = {
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000", "AWS_LAMBDA_FUNCTION_NAME": "bench", "STAGE": "bench",
    "DYNAMODB_ENDPOINT": "aws", "TABLE_PREFIX": "bench-", "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
    # /var/task is read-only and the packages carry no .pyc: every cold start compiles what it imports.
    "PYTHONDONTWRITEBYTECODE": "1",
    "DATA_DIR": tempfile.gettempdir() + "/antecedentes-bench",
}
TARGETS = {"api": 2.0, "bot": 2.5}
PACKAGE_LIMIT_MB = 50.0


def _env(path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCUMENT_", "OPERATOR_", "COGNITO_"))}
    env.update(LAMBDA_ENV)
    env["PYTHONPATH"] = str(path)
    return env


def _python(path: Path) -> list[str]:
    return [sys.executable, "-S"] if path != ROOT else [sys.executable]


def import_ms(module: str, path: Path = ROOT) -> float:
    """Milliseconds to import ``module`` from ``path`` in a fresh interpreter (its start-up not counted)."""
    code = (f"import time; t = time.perf_counter(); import {module}; "
            "print((time.perf_counter() - t) * 1000)")
    answer = subprocess.run([*_python(path), "-c", code], capture_output=True, text=True, cwd=path,
                            env=_env(path), timeout=120, check=True)
    return float(answer.stdout.strip().splitlines()[-1])


def _package(name: str) -> str:
    parts = name.split(".")
    # The project's own subpackages are worth telling apart (chalicelib.api vs chalicelib.adapters).
    return ".".join(parts[:2]) if parts[0] in ("chalicelib", "bot") and len(parts) > 1 else parts[0]


def heaviest_imports(module: str, path: Path = ROOT, count: int = 8) -> str:
    """The packages that cost the most to import, as "name ms".

    From ``python -X importtime`` (a post-order tree): a package is charged the cumulative time of each place
    where it is entered from another package, so a dependency also counts inside the package that pulled it in.
    """
    answer = subprocess.run([*_python(path), "-X", "importtime", "-c", f"import {module}"], capture_output=True,
                            text=True, cwd=path, env=_env(path), timeout=120, check=True)
    pending: list[tuple[int, str, int, list[Any]]] = []
    for line in answer.stderr.splitlines():
        found = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)$", line)
        if not found:
            continue
        depth = (len(found.group(2)) - 1) // 2
        children = []
        while pending and pending[-1][0] == depth + 1:
            children.insert(0, pending.pop())
        pending.append((depth, found.group(3), int(found.group(1)), children))
    costs: dict[str, int] = {}

    def charge(node: tuple[int, str, int, list[Any]], parent: str) -> None:
        package = _package(node[1])
        if package != parent:
            costs[package] = costs.get(package, 0) + node[2]
        for child in node[3]:
            charge(child, package)

    for root in pending:
        charge(root, "")
    shown = [(name, micro) for name, micro in costs.items()
             if name not in sys.stdlib_module_names and not name.startswith("_") and name != _package(module)]
    top = sorted(shown, key=lambda item: -item[1])[:count]
    return ", ".join(f"{name} {micro / 1000:.0f}" for name, micro in top)


def _unpack(archive: Path, destination: Path) -> Path:
    with zipfile.ZipFile(archive) as package:
        package.extractall(destination)
    return destination


def api_package(work: Path) -> tuple[Path, Path, float, float]:
    """`chalice package`, then the bytecode the CDK app adds: both unpacked, and both sizes in MB."""
    from infrastructure.cdk.packaging import add_bytecode

    chalice = Path(sys.executable).with_name("chalice")
    subprocess.run([str(chalice), "package", "--stage", "dev", str(work / "api")], cwd=ROOT, check=True,
                   env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}, capture_output=True, timeout=900)
    plain = work / "api" / "deployment.zip"
    deployed = add_bytecode(Path(shutil.copy2(plain, work / "api-deployed.zip")))
    return (_unpack(deployed, work / "api-deployed"), _unpack(plain, work / "api-plain"),
            deployed.stat().st_size / 1e6, plain.stat().st_size / 1e6)


def bot_package(work: Path) -> tuple[Path, Path, float, float]:
    from infrastructure.cdk.bot_bundle import build_bot_bundle, zip_bundle

    bundle = build_bot_bundle(work / "bot")
    plain = Path(shutil.copytree(bundle, work / "bot-plain", ignore=shutil.ignore_patterns("__pycache__")))
    return (bundle, plain, zip_bundle(bundle, work / "bot.zip").stat().st_size / 1e6,
            zip_bundle(plain, work / "bot-plain.zip").stat().st_size / 1e6)


def main() -> int:
    sys.path.insert(0, str(ROOT))
    entry_points = {"api": "app"}
    if (ROOT / "bot" / "webhook.py").exists():
        entry_points["bot"] = "bot.webhook"
    else:
        print("bot_import_ms: n/a (bot/webhook.py does not exist yet)")
    missed = []
    with tempfile.TemporaryDirectory(prefix="coldstart-") as scratch:
        work = Path(scratch)
        deployed: dict[str, Path] = {}
        plain: dict[str, Path] = {}
        for name, build in (("api", api_package), ("bot", bot_package)):
            if name not in entry_points:
                continue
            deployed[name], plain[name], size, plain_size = build(work)
            print(f"{name}_package_mb: {size:.1f}")
            print(f"{name}_package_without_pyc_mb: {plain_size:.1f}")
            if size > PACKAGE_LIMIT_MB:
                missed.append(f"{name} package {size:.1f} MB (target < {PACKAGE_LIMIT_MB:.0f} MB zipped)")
        # boto3 as the API package ships it (requirements.txt pins it), compiled like everything deployed.
        samples: dict[str, list[float]] = {"boto3": [], **{name: [] for name in entry_points}}
        for _ in range(RUNS):  # interleaved, so that a busy moment of the machine affects every figure alike
            samples["boto3"].append(import_ms("boto3", deployed["api"]))
            for name, module in entry_points.items():
                samples[name].append(import_ms(module, deployed[name]))
        boto3_ms = statistics.median(samples["boto3"])
        print(f"boto3_import_ms: {boto3_ms:.0f}")
        for name, module in entry_points.items():
            median = statistics.median(samples[name])
            ratio = median / boto3_ms
            print(f"{name}_import_ms: {median:.0f}")
            print(f"{name}_import_ratio: {ratio:.2f}")
            print(f"{name}_heaviest_imports: {heaviest_imports(module, deployed[name])}")
            if ratio > TARGETS[name]:
                missed.append(f"{name} import {ratio:.2f}x boto3 (target {TARGETS[name]}x)")
        # The same imports from packages without bytecode: what compiling at packaging time saves.
        for name, module in entry_points.items():
            median = statistics.median([import_ms(module, plain[name]) for _ in range(RUNS)])
            print(f"{name}_import_without_pyc_ms: {median:.0f}")
    for line in missed:
        print(f"target_missed: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
