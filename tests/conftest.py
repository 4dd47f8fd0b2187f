"""Shared fixtures: the GMAT stand-in engine, one LocalCluster per session, scripts.

Every test runs GMAT through the real gmat-run code path against the stand-in engine in
``tests/gmat_standin/root`` (a GMAT_ROOT layout with a stand-in ``gmatpy``). Tests marked
``gmat`` also run against a real GMAT when ``GMAT_ROOT`` points at one.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))

from gmat_standin import ROOT as STANDIN_ROOT  # noqa: E402

REPO = TESTS.parent
EXAMPLE = REPO / "examples" / "leo.script"
SCRIPTS = TESTS / "gmat_standin" / "scripts"
_USER_GMAT_ROOT = os.environ.get("GMAT_ROOT")
REAL_GMAT_ROOT = (
    _USER_GMAT_ROOT
    if _USER_GMAT_ROOT and Path(_USER_GMAT_ROOT).resolve() != STANDIN_ROOT.resolve()
    else None
)


@pytest.fixture(scope="session", autouse=True)
def standin_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point GMAT_ROOT at the stand-in for this process and every worker it spawns."""
    logs = tmp_path_factory.mktemp("standin-logs")
    saved = {k: os.environ.get(k) for k in ("GMAT_ROOT", "GMAT_STANDIN_SETUP_LOG")}
    os.environ["GMAT_ROOT"] = str(STANDIN_ROOT)
    os.environ["GMAT_STANDIN_SETUP_LOG"] = str(logs / "setup.log")
    yield logs
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _local_cluster(env: dict[str, str] | None = None):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",
        silence_logs=logging.ERROR,
        env=env or {},
    )
    return cluster, Client(cluster, set_as_default=False)


@pytest.fixture(scope="session")
def client(standin_environment: Path) -> Iterator[object]:
    """A 2-worker LocalCluster on the stand-in engine, shared by the session."""
    cluster, session_client = _local_cluster()
    yield session_client
    session_client.close()
    cluster.close()


@pytest.fixture(scope="session", params=["standin", "real"])
def engine_client(request: pytest.FixtureRequest, client: object) -> Iterator[object]:
    """The stand-in cluster, then (if GMAT_ROOT named a real GMAT) one on real GMAT."""
    if request.param == "standin":
        yield client
        return
    if REAL_GMAT_ROOT is None:
        pytest.skip("no real GMAT: set GMAT_ROOT to a GMAT install to run this against it")
    cluster, real_client = _local_cluster({"GMAT_ROOT": REAL_GMAT_ROOT})
    yield real_client
    real_client.close()
    cluster.close()


@pytest.fixture
def example_script() -> Path:
    """The bundled example mission."""
    return EXAMPLE


@pytest.fixture
def fault_script() -> Path:
    """The reference mission plus the stand-in's StandinFault / StandinDelay variables."""
    return SCRIPTS / "leo_faults.script"
