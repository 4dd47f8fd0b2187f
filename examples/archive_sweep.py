"""One file that holds a whole sweep, reopened elsewhere: ``archive()`` and ``open_sweep``.

What it shows:

* ``archive(out, "sweep.zip")`` (or ``gmat-sweep-dask archive DIR FILE``; ``.zip``,
  ``.tar``, ``.tar.gz``, ``.tgz``) streams every file of a sweep directory into one
  archive: manifest, script snapshot, design files, data files;
* the sweep directory is then deleted: ``open_sweep("sweep.zip")`` alone gives the same
  lazy frame (it extracts into a private temporary directory, every member confined,
  removed with the last frame reading it).

Run it (from the repository root; GMAT_ROOT unset means the GMAT stand-in engine):

    .venv/bin/python examples/archive_sweep.py   # into runs/archive_sweep-<t>/

It writes ``DIR/sweep.zip`` and prints its key numbers as ``key: value`` lines.
"""

from __future__ import annotations

import shutil
import zipfile

from _common import LEO_SCRIPT, local_client, report, report_equal, setup

from gmat_sweep_dask import archive, open_sweep, sweep


def main() -> None:
    args = setup(__doc__, "archive_sweep")
    out = args.out / "sweep"
    grid = {"Sat.SMA": [7000, 7100, 7200], "Sat.ECC": [0.001, 0.01]}
    with local_client() as client:
        original = sweep(LEO_SCRIPT, grid=grid, out=out, client=client, progress=False).compute()
    packed = archive(out, args.out / "sweep.zip")
    with zipfile.ZipFile(packed) as listing:
        names = listing.namelist()
    shutil.rmtree(out)  # only the archive is left
    frame = open_sweep(packed)
    report_equal(frame.compute(), original)
    report("archive", packed)
    report("members", len(names))
    report("has_manifest", "manifest.jsonl" in names)
    report("has_script", f"script/{LEO_SCRIPT.name}" in names)
    report("runs", frame.index.nunique().compute())


if __name__ == "__main__":
    main()
