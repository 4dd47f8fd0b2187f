"""Reading a sweep: lazy frames, statistics across runs, plots.

The analysis side imports the store and the designs, never the execution side, so a
finished sweep can be analysed without GMAT or a cluster.
"""
