"""Fixtures for the document integration tests: a real local test PKI on disk with its OCSP, CRL and TSA
services on 127.0.0.1, the pipeline signing at PAdES B-LT/B-LTA against them, and an NSS database for pdfsig."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# The project root, so that `chalicelib` imports however pytest is started.
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from chalicelib.adapters.documents import ensure_local_pki, local_pipeline  # noqa: E402
from chalicelib.adapters.documents.pipeline import DocumentPipeline  # noqa: E402
from chalicelib.adapters.documents.pki import LocalPki  # noqa: E402
from infrastructure.local.pki_services import PkiServer, serve  # noqa: E402
from tests.conftest import free_port  # noqa: E402


@dataclass
class LivePki:
    pki: LocalPki
    server: PkiServer

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_test_pki(directory: Path) -> LivePki:
    port = free_port()
    pki = ensure_local_pki(directory, f"http://127.0.0.1:{port}")
    return LivePki(pki, serve(port, pki))


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LivePki]:
    started = start_test_pki(tmp_path_factory.mktemp("pki"))
    yield started
    started.stop()


@pytest.fixture(scope="session")
def pki(test_pki: LivePki) -> LocalPki:
    return test_pki.pki


@pytest.fixture(scope="session")
def pipeline(pki: LocalPki) -> DocumentPipeline:
    return local_pipeline(pki, timestamp_url=pki.timestamp_url)


def make_nss(directory: Path, pki: LocalPki) -> str:
    def run(*command: str) -> None:
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
        assert done.returncode == 0, done.stderr

    run("certutil", "-N", "--empty-password", "-d", f"sql:{directory}")
    run("certutil", "-A", "-d", f"sql:{directory}", "-n", "root", "-t", "CT,C,C", "-i", str(pki.ca_cert_path))
    return f"sql:{directory}"


@pytest.fixture(scope="session")
def nss_dir(pki: LocalPki, tmp_path_factory: pytest.TempPathFactory) -> str:
    return make_nss(tmp_path_factory.mktemp("nss"), pki)
