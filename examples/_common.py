"""Shared plumbing of the example scripts: pick the GMAT engine, parse ``--out``.

Not an example itself. Every example calls :func:`setup` first thing; it

* uses the GMAT install that ``GMAT_ROOT`` points at, or, when ``GMAT_ROOT`` is unset,
  points it at the test suite's GMAT stand-in engine (``tests/gmat_standin/root``) and
  says so plainly. ``GMAT_ROOT`` is set in ``os.environ`` before any Dask worker starts,
  so the workers (and any subprocess) inherit it;
* parses ``--out DIR`` (default: a fresh directory under ``./runs/``) and creates it.

The examples' Dask client is :func:`local_client`.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

import pandas as pd

EXAMPLES = Path(__file__).resolve().parent
REPO = EXAMPLES.parent
LEO_SCRIPT = EXAMPLES / "leo.script"
STANDIN_ROOT = REPO / "tests" / "gmat_standin" / "root"


def local_client():
    """The examples' Dask client: a LocalCluster of 2 workers that are threads of this
    process, written out as you would write it::

        Client(n_workers=2, threads_per_worker=1, processes=False,
               dashboard_address="127.0.0.1:0", worker_dashboard_address="127.0.0.1:0")

    Each worker sends its runs to a GMAT engine process of its own, so threads isolate
    GMAT as well as worker processes would, start faster and re-import nothing; the
    cluster talks over ``inproc://`` and its web pages (the dashboard, each worker's
    status) listen on this machine only (see docs/cluster.md and docs/security.md).
    """
    from dask.distributed import Client

    return Client(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        dashboard_address="127.0.0.1:0",
        worker_dashboard_address="127.0.0.1:0",
        silence_logs=logging.ERROR,
    )


def use_gmat() -> bool:
    """Point ``GMAT_ROOT`` at the stand-in unless it is set; True if the stand-in is used."""
    root = os.environ.get("GMAT_ROOT")
    if root and Path(root).resolve() != STANDIN_ROOT.resolve():
        print(f"engine: GMAT (GMAT_ROOT={root})")
        return False
    if not root:
        os.environ["GMAT_ROOT"] = str(STANDIN_ROOT)
        print("engine: stand-in (GMAT_ROOT is unset)")
    else:
        print(f"engine: stand-in (GMAT_ROOT={root})")
    print("note: this runs on the test suite's GMAT STAND-IN engine (two-body Kepler physics,")
    print("      GMAT's file formats), not on real GMAT. Set GMAT_ROOT to a GMAT install to")
    print("      use the real engine.")
    return True


def setup(description: str, name: str, options: dict | None = None) -> argparse.Namespace:
    """Parse the command line (``--out`` plus ``options``) and choose the engine.

    ``options`` maps option names (``"--runs"``) to ``argparse.add_argument`` keywords.
    The returned namespace has ``out`` (a created directory) and ``standin`` (bool).
    """
    parser = argparse.ArgumentParser(
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"directory for the sweep(s) and PNGs (default: a new runs/{name}-<time>/)",
    )
    for option, keywords in (options or {}).items():
        parser.add_argument(option, **keywords)
    args = parser.parse_args()
    if args.out is None:
        args.out = Path("runs") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    args.out = args.out.expanduser().resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    args.standin = use_gmat()
    print(f"out: {args.out}")
    return args


def report(key: str, value: object) -> None:
    """Print one result as ``key: value`` (the form the tests read back)."""
    print(f"{key}: {value}", flush=True)


def report_equal(frame: pd.DataFrame, reference: pd.DataFrame) -> None:
    """Report ``frames_equal: True`` if the frames are equal, else print how they differ."""
    try:
        pd.testing.assert_frame_equal(frame, reference)
    except AssertionError as difference:
        print(difference)
        report("frames_equal", False)
    else:
        report("frames_equal", True)
