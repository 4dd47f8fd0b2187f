"""Defaults read through ``dask.config`` under the ``gmat-sweep-dask`` namespace.

Override them like any Dask setting: ``~/.config/dask/gmat-sweep-dask.yaml``,
``DASK_GMAT_SWEEP_DASK__RETRIES=5``, or ``dask.config.set({"gmat-sweep-dask.retries": 5})``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dask.config
import yaml

_DEFAULTS = Path(__file__).with_name("gmat-sweep-dask.yaml")

with open(_DEFAULTS, encoding="utf-8") as _handle:
    dask.config.update_defaults(yaml.safe_load(_handle))


def get(key: str, override: Any = None) -> Any:
    """``override`` if given, else the configured value of ``gmat-sweep-dask.<key>``."""
    if override is not None:
        return override
    return dask.config.get(f"gmat-sweep-dask.{key}")
