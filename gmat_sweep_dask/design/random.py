"""Counter-based uniforms: the draw for ``(seed, field, stream, run_id)`` alone.

Each value is SplitMix64 applied to a per-(seed, field, stream) key plus the run id, so
a block of runs is generated vectorised in one numpy pass, and the value of a run never
depends on which other runs were generated, in what order, or how they were batched.
"""

from __future__ import annotations

import hashlib

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
LARGEST = float(np.nextafter(1.0, 0.0))
"""The largest uniform ever returned (the largest double below 1)."""


def key(seed: int, field: str, stream: int = 0) -> np.uint64:
    """A 64-bit key for one (seed, field, stream); stable across Python processes."""
    digest = hashlib.sha256(f"{seed}\x00{field}\x00{stream}".encode()).digest()
    return np.uint64(int.from_bytes(digest[:8], "little"))


def uniforms(seed: int, field: str, run_ids: np.ndarray, stream: int = 0) -> np.ndarray:
    """Uniform(0, 1) values, open at both ends, one per id in ``run_ids``."""
    ids = np.asarray(run_ids, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = key(seed, field, stream) + (ids + np.uint64(1)) * _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        z = z ^ (z >> np.uint64(31))
    # (k + 0.5) / 2**53 rounds to exactly 1.0 for the largest k: keep the interval open
    return np.minimum(((z >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53, LARGEST)
