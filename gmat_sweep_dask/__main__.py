"""``python -m gmat_sweep_dask`` runs the command line."""

from gmat_sweep_dask.launch import main

main()
