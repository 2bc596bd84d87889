"""The lock files (`make lock`): every environment's packages pinned with hashes, the direct pins of each
requirements file kept, and one version of each package across environments."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCKS = {"requirements.txt": "requirements.lock", "bot/requirements.txt": "bot/requirements.lock",
         "requirements-dev.txt": "requirements-dev.lock", "requirements-tools.txt": "requirements-tools.lock"}
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;\\]+)")


def _name(raw: str) -> str:
    return re.sub(r"[-_.]+", "-", raw).lower()


def locked(path: str) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes)."""
    entries: dict[str, tuple[str, int]] = {}
    name = ""
    for line in (ROOT / path).read_text().splitlines():
        match = PIN.match(line)
        if match:
            name = _name(match.group(1))
            entries[name] = (match.group(2), 0)
        elif line.strip().startswith("--hash=sha256:") and name:
            version, hashes = entries[name]
            entries[name] = (version, hashes + 1)
    return entries


def direct_pins(path: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / path).read_text().splitlines():
        line = line.strip()
        if line.startswith("-r "):
            pins.update(direct_pins(str((ROOT / path).parent.relative_to(ROOT) / line[3:].strip())))
        match = PIN.match(line)
        if match:
            pins[_name(match.group(1))] = match.group(2)
    return pins


@pytest.mark.parametrize("requirements", sorted(LOCKS))
def test_each_lock_keeps_every_direct_pin_and_hashes_every_package(requirements: str) -> None:
    lock = locked(LOCKS[requirements])
    assert lock, f"{LOCKS[requirements]} is empty"
    for name, version in direct_pins(requirements).items():
        assert lock.get(name, ("missing", 0))[0] == version, f"{name}: {requirements} pins {version}"
    unhashed = [name for name, (_, hashes) in lock.items() if hashes == 0]
    assert unhashed == [], f"{LOCKS[requirements]}: packages without a hash: {unhashed}"


def test_one_version_of_each_package_across_environments() -> None:
    seen: dict[str, tuple[str, str]] = {}
    for lock_path in LOCKS.values():
        for name, (version, _) in locked(lock_path).items():
            first = seen.setdefault(name, (version, lock_path))
            assert first[0] == version, f"{name}: {first[1]} has {first[0]}, {lock_path} has {version}"


def test_the_environments_install_from_the_locks_with_hash_checking() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install -q --require-hashes -r requirements-dev.lock" in makefile
    assert "pip install -q --require-hashes -r requirements-tools.lock" in makefile
    assert not re.search(r"pip install[^\n]*-r requirements(-dev|-tools)?\.txt", makefile)
    # The dev environment holds the API's and the bot's packages: what they ship is what the tests ran.
    dev = locked("requirements-dev.lock")
    for lock_path in ("requirements.lock", "bot/requirements.lock"):
        assert set(locked(lock_path)) <= set(dev), lock_path


def test_current_versions() -> None:
    assert int(locked("requirements-dev.lock")["pillow"][0].split(".")[0]) >= 13
