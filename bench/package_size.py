"""The API's deployment package, this tree beside the baseline tree, built as the CDK builds it: `chalice package`
(Lambda's Linux wheels for requirements.txt), then infrastructure/cdk/packaging.add_bytecode (bytecode added, unused
botocore models removed). Prints zipped and unzipped sizes in MB and what numpy and shapely take.

BENCH_BASELINE=<path> names the baseline tree (default: the commit before issue 17, unpacked from git).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.flows import baseline_tree, show  # noqa: E402
from infrastructure.cdk.packaging import add_bytecode  # noqa: E402

MB = 1024 * 1024


def package(tree: Path, work: Path) -> dict[str, float]:
    project = work / f"project-{tree.name}"
    project.mkdir()
    for name in ("app.py", "requirements.txt"):
        shutil.copy2(tree / name, project / name)
    for folder in ("chalicelib", ".chalice"):
        shutil.copytree(tree / folder, project / folder, ignore=shutil.ignore_patterns("__pycache__", "deployments"))
    out = work / f"out-{tree.name}"
    subprocess.run([sys.executable, "-c", "import sys; from chalice.cli import main; sys.exit(main())", "package",
                    "--stage", "dev", str(out)], cwd=project, check=True, capture_output=True)
    archive = add_bytecode(out / "deployment.zip")
    with zipfile.ZipFile(archive) as z:
        infos = z.infolist()
    unzipped = sum(i.file_size for i in infos)
    heavy = sum(i.file_size for i in infos if i.filename.split("/", 1)[0].startswith(("numpy", "shapely")))
    return {"api_package_zipped_mb": archive.stat().st_size / MB, "api_package_unzipped_mb": unzipped / MB,
            "numpy_and_shapely_unzipped_mb": heavy / MB}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="package-size-") as scratch:
        work = Path(scratch)
        before = package(baseline_tree(work), work)
        after = package(ROOT, work)
    for name in before:
        print(f"{name}_before: {show(before[name])}")
        print(f"{name}_after: {show(after[name])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
