"""The sweep directory on disk: layout, lock, manifest, data files, compaction.

Nothing here imports Dask's scheduler or GMAT: the store is read and written by the
driver, the workers and the analysis side alike.
"""
