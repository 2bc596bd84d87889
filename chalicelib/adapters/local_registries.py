"""The local stack's switch for the external registries (identity, warrants): a person can take one down and
bring it back on the running stack to try the contingency plan (annex 5). Never wired in the cloud.

The switch is a file (``DATA_DIR/switches/<registry>.down``), so the API, the worker and the command that
flips it (``make registry-down REGISTRY=identity``) all see the same state.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ..domain.control.warrants import Warrant
from ..domain.errors import ServiceUnavailable
from ..domain.ports import IdentityRecord

REGISTRY_NAMES = ("identity", "warrants")


class RegistrySwitch:
    def __init__(self, directory: Path, registry: str) -> None:
        if registry not in REGISTRY_NAMES:
            raise ValueError(f"unknown registry {registry!r}; expected one of {REGISTRY_NAMES}")
        self.registry = registry
        self._path = directory / f"{registry}.down"

    @property
    def down(self) -> bool:
        return self._path.exists()

    def set_down(self, down: bool) -> None:
        if down:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._path.write_text("down\n")
        else:
            self._path.unlink(missing_ok=True)

    def check(self) -> None:
        if self.down:
            raise ServiceUnavailable(f"The {self.registry} registry is switched off on the local stack.",
                                     code="registry_switched_off")


class SwitchedIdentityRegistry:
    def __init__(self, inner: Any, switch: RegistrySwitch) -> None:
        self._inner, self._switch = inner, switch

    def lookup(self, document_type: str, document_number: str) -> IdentityRecord | None:
        self._switch.check()
        record: IdentityRecord | None = self._inner.lookup(document_type, document_number)
        return record

    def ping(self) -> None:
        self._switch.check()
        self._inner.ping()

    def put(self, record: IdentityRecord) -> None:
        self._inner.put(record)  # imports are the registry's own business, not the check-in's


class SwitchedWarrantsRegistry:
    def __init__(self, inner: Any, switch: RegistrySwitch) -> None:
        self._inner, self._switch = inner, switch

    def possible_warrants(self, document_number: str | None, full_name: str, surnames: str,
                          name_threshold: float) -> list[Warrant]:
        self._switch.check()
        found: list[Warrant] = self._inner.possible_warrants(document_number, full_name, surnames, name_threshold)
        return found

    def put_warrants(self, warrants: list[tuple[Warrant, str]], stage: str | None = None) -> None:
        self._inner.put_warrants(warrants, stage=stage)  # imports are the registry's own business, not the check-in's

    def publish_warrants(self, warrants: list[tuple[Warrant, str]], stage: str) -> None:
        self._inner.publish_warrants(warrants, stage)

    def discard_warrants(self, warrants: list[tuple[Warrant, str]], stage: str) -> None:
        self._inner.discard_warrants(warrants, stage)

    def ping(self) -> None:
        self._switch.check()
        self._inner.ping()


def main(argv: list[str]) -> int:
    """python -m chalicelib.adapters.local_registries {down|up|status} {identity|warrants}"""
    from ..settings import load_settings

    if len(argv) != 2 or argv[0] not in ("down", "up", "status") or argv[1] not in REGISTRY_NAMES:
        print(f"usage: {{down|up|status}} {{{'|'.join(REGISTRY_NAMES)}}}", file=sys.stderr)
        return 2
    switch = RegistrySwitch(load_settings().data_dir / "switches", argv[1])
    if argv[0] != "status":
        switch.set_down(argv[0] == "down")
    print(f"{argv[1]} registry: {'down' if switch.down else 'up'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
