"""The run options a sweep records in its header (``keep_raw``, ``isolate``, ``timeout``),
checked before anything starts: a wrong-typed switch would otherwise read as True; and
the paths a run hands GMAT (its script, the sweep directory), which must be UTF-8."""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path
from typing import Any

from gmat_sweep_dask.errors import SpecError, UsageError


def checked_timeout(timeout: Any, isolate: bool) -> float | None:
    """``timeout`` (seconds, None: no limit) as a sweep records it (a float if too large
    for the manifest's 64-bit integers).

    Raises:
        SpecError: not a positive finite number (text, a bool, NaN, inf, an integer too
            large for a float), or given without isolation.
    """
    if timeout is None:
        return None
    number = isinstance(timeout, int | float) and not isinstance(timeout, bool)
    positive = False
    with contextlib.suppress(OverflowError):
        positive = number and math.isfinite(timeout) and timeout > 0
    if not positive:
        raise SpecError(f"timeout={timeout!r:.40}: expected a positive, finite number of seconds")
    if not isolate:
        raise SpecError(
            f"timeout={timeout!r:.40}: a run can be timed out only with GMAT in its own "
            "process (isolate=True, the default; --isolate, not --no-isolate)"
        )
    return timeout if timeout < 2**63 else float(timeout)  # JSON: 64-bit ints


def checked_flag(name: str, value: Any) -> bool:
    """``value`` of the switch ``name`` (``keep_raw``, ``isolate``) as a bool.

    Raises:
        SpecError: anything but True or False (``"no"`` would read as True).
    """
    if type(value).__name__ in ("bool", "bool_"):  # numpy's bool too
        return bool(value)
    raise SpecError(f"{name}={value!r:.40}: expected True or False")


def check_gmat_path(path: Path, what: str, error: type[UsageError]) -> None:
    """Refuse a path GMAT cannot be given: its API takes UTF-8 text only, so a name with
    other bytes (``b'\\xff'``, from a Latin-1 system) failed every run or the script load.

    Raises:
        error: naming ``what`` and the path, its undecodable bytes shown as ``\\xff``.
    """
    text = str(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            shown = os.fsencode(text).decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:  # a lone surrogate given as text
            shown = text.encode("utf-8", "backslashreplace").decode()
        raise error(
            f"{what} {shown}: the path is not valid UTF-8 and GMAT takes only UTF-8 paths; "
            "rename it or choose another"
        ) from None
