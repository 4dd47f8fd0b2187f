"""Running a sweep: plan batches, submit them to Dask, run GMAT on the workers, record.

:mod:`~gmat_sweep_dask.execute.sweep` orchestrates; :mod:`~.submit` plans batches and keeps
the submission window full; :mod:`~.task` is the Dask task; :mod:`~.engine` runs GMAT
through gmat-run; :mod:`~.isolation` and :mod:`~.enginehost` keep it in a child process;
:mod:`~.cluster` picks the Dask cluster.
"""
