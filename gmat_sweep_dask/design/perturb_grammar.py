"""The CLI's ``--perturb NAME=DIST:A:B[:C:D]`` grammar.

``DIST`` is ``normal:MU:SIGMA``, ``uniform:LO:HI``, ``lognormal:MU:SIGMA`` (of log X) or
``truncnormal:MU:SIGMA:LO:HI``; a leading ``~`` (``Sat.SMA=~normal:0:50``) makes it an
offset around the script's own value of the field. Errors name the token.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gmat_sweep_dask.design.base import check_field_name
from gmat_sweep_dask.design.distributions import around, parse
from gmat_sweep_dask.errors import SpecError


def parse_perturb(tokens: Iterable[str]) -> dict[str, Any]:
    """Parse repeated ``--perturb`` tokens into a ``perturb=`` mapping (validated)."""
    perturb: dict[str, Any] = {}
    for token in tokens:
        where = f"--perturb {token!r}"
        name, sep, spec = token.partition("=")
        name = name.strip()
        if not sep or not name or not spec.strip():
            raise SpecError(f"{where}: expected NAME=DIST:A:B, e.g. Sat.SMA=normal:7100:50")
        check_field_name(name, where=where)
        if name in perturb:
            raise SpecError(f"{where}: field {name!r} is given twice")
        spec = spec.strip()
        offset = spec.startswith("~")
        dist, *raw = spec.lstrip("~").split(":")
        try:
            params = [float(v) for v in raw]
        except ValueError:
            raise SpecError(f"{where}: parameters must be numbers, got {raw}") from None
        value: Any = (dist, *params)
        parse(value, where=where)  # validate now, naming the token
        perturb[name] = around(value) if offset else value
    return perturb
