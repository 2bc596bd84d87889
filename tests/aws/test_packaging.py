"""The API's deployment package keeps only the botocore models its functions use, and those still work."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import botocore

from infrastructure.cdk.packaging import BOTOCORE_SERVICES, prune_botocore_models


def test_pruned_botocore_still_creates_every_client_the_functions_use(tmp_path: Path):
    shutil.copytree(Path(botocore.__file__).parent, tmp_path / "botocore")
    before = len(list((tmp_path / "botocore" / "data").iterdir()))
    removed = prune_botocore_models(tmp_path)
    kept = {p.name for p in (tmp_path / "botocore" / "data").iterdir() if p.is_dir()}
    assert kept == set(BOTOCORE_SERVICES) and removed > 300 and before > removed
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import botocore, botocore.session; "
        "assert botocore.__file__.startswith(sys.argv[1]); s = botocore.session.get_session(); "
        "[s.create_client(n, region_name='us-east-1', aws_access_key_id='a', aws_secret_access_key='b') "
        "for n in sys.argv[2:]]; print('ok')")
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path), *sorted(BOTOCORE_SERVICES)],
                            capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "ok", result.stderr
