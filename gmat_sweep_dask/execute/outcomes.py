"""A batch's outcomes as its Dask task returns them: bytes, packed and unpacked here.

Dask sizes and sends a bytes result for almost nothing; a list of dicts costs the worker
~1 ms a task (``sizeof`` walks every dict, serialisation wraps it), CPU the engines of a
small machine need (``benchmarks/README.md``, issue 18).
"""

from __future__ import annotations

import pickle
from typing import Any


def pack_outcomes(outcomes: list[dict[str, Any]]) -> bytes:
    """The bytes a batch's task returns for its ``outcomes`` (one dict per run)."""
    return pickle.dumps(outcomes, protocol=pickle.HIGHEST_PROTOCOL)


def unpack_outcomes(packed: bytes) -> list[dict[str, Any]]:
    """The outcomes :func:`pack_outcomes` packed (a result of this sweep's own task)."""
    outcomes: list[dict[str, Any]] = pickle.loads(packed)
    return outcomes
