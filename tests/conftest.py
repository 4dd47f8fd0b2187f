"""Shared fixtures: the GMAT engines, one LocalCluster per engine per session, scripts.

Every test runs GMAT through the real gmat-run code path. The default engine is the
stand-in in ``tests/gmat_standin/root`` (a GMAT_ROOT layout with a stand-in ``gmatpy``);
this process and every worker it starts get ``GMAT_ROOT`` pointing at it.

The real engine is a GMAT R2026a built by ``tests/gmat_real/build.sh``; ``tests/run.sh``
builds it (or reuses its cache) and names its GMAT_ROOT in ``GMAT_SWEEP_DASK_REAL_GMAT_ROOT``.
Tests of the ``real_gmat`` tier use it through :func:`real_gmat_root` / :func:`real_client`
(a LocalCluster whose workers get ``GMAT_ROOT=<real root>``); ``gmat``-marked tests run on
both engines through :func:`engine_client`. Without a real engine the tier skips, with the
reason ``tests/run.sh`` recorded in ``GMAT_SWEEP_DASK_REAL_GMAT_SKIP``; a build that
``tests/run.sh`` saw fail (``GMAT_SWEEP_DASK_REAL_GMAT_ERROR``) fails the tier instead.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

#: ``tests/run.sh`` (the CI command) runs the property tests derandomized: the same
#: examples every run, so a change is judged on its own; run pytest directly for a fresh
#: random search (each failure it finds gets pinned with ``@example``).
settings.register_profile("ci", derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))

from gmat_standin import ROOT as STANDIN_ROOT  # noqa: E402

REPO = TESTS.parent
EXAMPLE = REPO / "examples" / "leo.script"
SCRIPTS = TESTS / "gmat_standin" / "scripts"
REAL_GMAT_DIR = TESTS / "gmat_real"
REAL_SCRIPTS = REAL_GMAT_DIR / "scripts"
REAL_ROOT_ENV = "GMAT_SWEEP_DASK_REAL_GMAT_ROOT"
REAL_SKIP_ENV = "GMAT_SWEEP_DASK_REAL_GMAT_SKIP"
REAL_ERROR_ENV = "GMAT_SWEEP_DASK_REAL_GMAT_ERROR"
REAL_TIER = "real_gmat"


def _real_root_or_reason() -> tuple[Path | None, str]:
    """The real GMAT_ROOT to test against, or None and why there is none."""
    if os.environ.get(REAL_ERROR_ENV):
        return None, os.environ[REAL_ERROR_ENV]
    root = os.environ.get(REAL_ROOT_ENV)
    if not root:
        reason = os.environ.get(REAL_SKIP_ENV) or (
            f"no real GMAT: {REAL_ROOT_ENV} is unset (tests/run.sh builds one with "
            "tests/gmat_real/build.sh and sets it)"
        )
        return None, reason
    path = Path(root)
    if not (path / "bin" / "gmatpy").is_dir() or path.resolve() == STANDIN_ROOT.resolve():
        return None, f"{REAL_ROOT_ENV}={root} is not a real GMAT_ROOT (no bin/gmatpy)"
    return path, ""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the real-engine half of ``engine_client`` / ``engine_root`` tests in the real tier."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "real" in (params.get("engine_client"), params.get("engine_root")):
            item.add_marker(REAL_TIER)


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


@pytest.fixture(scope="session")
def real_gmat_root() -> Path:
    """The real GMAT R2026a GMAT_ROOT; skips (or fails, see the module doc) without one."""
    root, reason = _real_root_or_reason()
    if root is None:
        if os.environ.get(REAL_ERROR_ENV):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return root


@pytest.fixture(scope="session")
def real_cluster_client(real_gmat_root: Path, standin_environment: Path) -> Iterator[object]:
    """A 2-worker LocalCluster whose workers run the real GMAT engine, shared by the session."""
    cluster, session_client = _local_cluster({"GMAT_ROOT": str(real_gmat_root)})
    yield session_client
    session_client.close()
    cluster.close()


@pytest.fixture
def real_client(
    real_gmat_root: Path, real_cluster_client: object, monkeypatch: pytest.MonkeyPatch
) -> object:
    """The real-GMAT cluster, with this process's GMAT_ROOT the real one during the test.

    Like a user's driver: a sweep checks the script with the driver's own GMAT (and records
    that engine) before the workers run it.
    """
    monkeypatch.setenv("GMAT_ROOT", str(real_gmat_root))
    return real_cluster_client


@pytest.fixture(params=["standin", "real"])
def engine_client(request: pytest.FixtureRequest, client: object) -> object:
    """The stand-in cluster, then the real-GMAT one (``real_gmat`` tier; skips without it)."""
    if request.param == "standin":
        return client
    return request.getfixturevalue("real_client")


@pytest.fixture(params=["standin", "real"])
def engine_root(request: pytest.FixtureRequest) -> Path:
    """The GMAT_ROOT of each engine in turn, for tests that start their own processes."""
    if request.param == "standin":
        return STANDIN_ROOT
    return request.getfixturevalue("real_gmat_root")


@pytest.fixture
def example_script() -> Path:
    """The bundled example mission."""
    return EXAMPLE


@pytest.fixture
def fault_script() -> Path:
    """The reference mission plus the stand-in's StandinFault / StandinDelay variables."""
    return SCRIPTS / "leo_faults.script"
