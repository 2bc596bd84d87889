"""The deployment package leaves out data no function loads, and what it keeps still works."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from infrastructure.cdk.packaging import prune_unused_data


def test_babel_keeps_the_console_languages_and_lxml_keeps_what_pyhanko_imports(tmp_path):
    import babel
    import lxml

    for package in (babel, lxml):
        source = Path(package.__file__).parent
        shutil.copytree(source, tmp_path / source.name, ignore=shutil.ignore_patterns("__pycache__"))
    removed = prune_unused_data(tmp_path)
    kept = sorted(p.stem for p in (tmp_path / "babel" / "locale-data").glob("*.dat"))
    assert removed > 500 and "fr" not in kept and {"root", "es", "en", "es_PE"} <= set(kept)
    assert not (tmp_path / "lxml" / "html").exists()
    # The pruned copies, first on the path: the console's catalogues compile, dates format, pyHanko's XML parses.
    check = ("from chalicelib.console.i18n import catalogue; import babel, lxml.etree, datetime;"
             f"assert babel.__file__.startswith({str(tmp_path)!r});"
             "assert catalogue('es')[0] and catalogue('en')[0];"
             "from babel.dates import format_date; print(format_date(datetime.date(2026, 1, 5), locale='es'));"
             "lxml.etree.fromstring(b'<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"/>')")
    root = Path(__file__).resolve().parents[2]
    answer = subprocess.run([sys.executable, "-c", check], cwd=root, capture_output=True, text=True,
                            env={"PYTHONPATH": f"{tmp_path}:{root}", "PATH": "/usr/bin:/bin"})
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.strip() == "5 ene 2026"
