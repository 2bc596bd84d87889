"""Deployment packages with compiled bytecode: Lambda's code folder is read-only, so without .pyc files every
cold start compiles each module it imports (measured by bench/coldstart.py: about half the import time).
"""

from __future__ import annotations

import compileall
import os
import py_compile
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

LAMBDA_PYTHON = (3, 12)  # .pyc files only load in the Python version that wrote them
_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed entry times: the same code gives the same zip, so the same asset hash


def compile_tree(root: Path) -> bool:
    """Write __pycache__/*.cpython-312.pyc beside every .py under ``root`` (or for the one file ``root`` is);
    False (and nothing written) on another Python.

    Unchecked-hash .pyc files: Lambda's unpacked files carry arbitrary times, which a timestamp check would
    compare; these are trusted as they are, and they are always rebuilt together with their sources.
    """
    if sys.version_info[:2] != LAMBDA_PYTHON:
        print(f"packaging: Python {sys.version_info[0]}.{sys.version_info[1]} cannot write bytecode for "
              f"python{LAMBDA_PYTHON[0]}.{LAMBDA_PYTHON[1]}; the package goes without it", file=sys.stderr)
        return False
    unchecked = py_compile.PycInvalidationMode.UNCHECKED_HASH
    if root.is_file():
        return bool(compileall.compile_file(str(root), quiet=2, invalidation_mode=unchecked))
    return bool(compileall.compile_dir(str(root), quiet=2, workers=0, invalidation_mode=unchecked))


def zip_tree(root: Path, destination: Path) -> Path:
    """Zip a folder with sorted entries and fixed times (a reproducible archive)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.{os.getpid()}")
    # Level 6: within 2% of level 9 on these packages, in a third of the time.
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                info = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=_EPOCH)
                info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes(), compresslevel=6)
    partial.replace(destination)
    return destination


# The AWS services the functions call (chalicelib/adapters/aws, pynamodb, the stream consumer). botocore ships
# the models of every AWS service (about 28 MB of already-compressed JSON, half the API's zip); only these load.
BOTOCORE_SERVICES = frozenset({
    "dynamodb", "dynamodbstreams", "kms", "s3", "ses", "sesv2", "sns", "rekognition", "cognito-idp",
    "secretsmanager", "ssm", "sts", "sqs", "lambda", "logs", "xray"})


def prune_botocore_models(root: Path, keep: frozenset[str] = BOTOCORE_SERVICES) -> int:
    """Remove the service models no function uses; returns how many were removed."""
    data = root / "botocore" / "data"
    removed = 0
    if data.is_dir():
        for service in data.iterdir():
            if service.is_dir() and service.name not in keep:
                shutil.rmtree(service)
                removed += 1
    return removed


# What else the packages carry that no function loads: babel's data for every locale but the console's languages
# (es, en, and root, which they inherit from: 30 MB unzipped), and lxml's modules pyHanko never imports.
BABEL_LOCALES = ("root", "en", "es")
LXML_UNUSED = ("objectify.", "html", "isoschematron", "includes")


def prune_unused_data(root: Path, locales: tuple[str, ...] = BABEL_LOCALES) -> int:
    """Remove babel's other locales and lxml's unused modules; returns how many files and folders were removed."""
    removed = 0
    locale_data = root / "babel" / "locale-data"
    if locale_data.is_dir():
        for path in locale_data.iterdir():
            if path.suffix == ".dat" and path.stem.split("_")[0] not in locales:
                path.unlink()
                removed += 1
    lxml = root / "lxml"
    if lxml.is_dir():
        for path in lxml.iterdir():
            if path.name.startswith(LXML_UNUSED):
                shutil.rmtree(path) if path.is_dir() else path.unlink()
                removed += 1
    return removed


def add_bytecode(archive: Path) -> Path:
    """Rewrite a deployment zip (e.g. `chalice package`'s) with compiled bytecode beside its sources, and
    without the botocore models, babel locales and lxml modules no function uses."""
    with tempfile.TemporaryDirectory(prefix="package-") as scratch:
        unpacked = Path(scratch) / "code"
        with zipfile.ZipFile(archive) as source:
            source.extractall(unpacked)
        prune_botocore_models(unpacked)
        prune_unused_data(unpacked)
        compile_tree(unpacked)
        zip_tree(unpacked, archive)
        shutil.rmtree(unpacked, ignore_errors=True)
    return archive
