"""Builds the bot's Lambda bundle without Docker: bot/ and a pip install of bot/requirements.txt for Lambda.

pip installs manylinux wheels for CPython 3.12 on x86_64 (the Lambda runtime), whatever machine runs this;
the dependencies are cached by the hash of the requirements, so a rebuild only copies bot/.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .packaging import compile_tree, zip_tree

ROOT = Path(__file__).resolve().parents[2]
PYTHON_VERSION = "3.12"
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64")
ENTRY = "bot_lambda.py"
# Dependencies are cached here across synths (tests synthesise into temporary folders).
CACHE = Path(os.environ.get("BOT_BUNDLE_CACHE") or ROOT / "infrastructure" / "cdk.out" / ".cache")
HANDLER = "bot_lambda.handler"
# Type stubs and test suites: nothing the function runs.
_SKIP = shutil.ignore_patterns("*.pyi", "py.typed", "tests", "test")


def _dependencies_key(requirements: Path) -> str:
    material = requirements.read_bytes() + f"{PYTHON_VERSION}|{'|'.join(PLATFORMS)}|pyc".encode()
    return hashlib.sha256(material).hexdigest()[:16]


def install_dependencies(requirements: Path, cache_dir: Path) -> Path:
    """pip-install the requirements for Lambda's platform into a cached folder and return it."""
    target = cache_dir / f"bot-deps-{_dependencies_key(requirements)}"
    if target.is_dir():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cache_dir / f".{target.name}.{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    platforms = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
         "--target", str(partial), "--implementation", "cp", "--python-version", PYTHON_VERSION,
         "--only-binary=:all:", *platforms, "-r", str(requirements)],
        check=True,
    )
    compile_tree(partial)  # once per cached install; copied with the dependencies afterwards
    partial.rename(target)
    return target


def build_bot_bundle(out_dir: Path, root: Path = ROOT) -> Path:
    """The folder CDK turns into the bot function's code asset: dependencies, bot/ and the entry point."""
    bot = root / "bot"
    dependencies = install_dependencies(bot / "requirements.txt", CACHE)
    bundle = out_dir / "bot-bundle"
    shutil.rmtree(bundle, ignore_errors=True)
    shutil.copytree(dependencies, bundle, ignore=_SKIP)
    shutil.rmtree(bundle / "bin", ignore_errors=True)  # console scripts that point at the build machine's Python
    shutil.copytree(bot, bundle / "bot", ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "requirements*.txt"))
    # The one module the bot shares with the API (its JSON log formatter, standard library only).
    (bundle / "chalicelib").mkdir(exist_ok=True)
    for name in ("__init__.py", "logs.py"):
        shutil.copy2(bot.parent / "chalicelib" / name, bundle / "chalicelib" / name)
    shutil.copy2(Path(__file__).with_name(ENTRY), bundle / ENTRY)
    compile_tree(bundle / "bot")
    compile_tree(bundle / ENTRY)
    return bundle


def zip_bundle(bundle: Path, destination: Path) -> Path:
    """The bundle as Lambda receives it (CDK zips the same folder when it publishes the asset)."""
    return zip_tree(bundle, destination)
