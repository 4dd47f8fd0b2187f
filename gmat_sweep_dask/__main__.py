"""``python -m gmat_sweep_dask`` runs the command line."""

from gmat_sweep_dask.cli import main

main()
