"""Named distributions for ``perturb=``, validated, serialisable and vectorised.

Spellings: ``("normal", mu, sigma)``, ``("uniform", lo, hi)``, ``("lognormal", mu, sigma)``
(``mu`` and ``sigma`` of ``log X``), ``("truncnormal", mu, sigma, lo, hi)`` (a normal
cut to ``[lo, hi]``), or a frozen ``scipy.stats`` distribution (rebuilt from its name,
args and kwds). :func:`around` marks a perturbation as an offset added to the script's
own (nominal) value of the field: ``around(("normal", 0, 50))`` is "±50 km around
whatever the script says".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gmat_sweep_dask.errors import SpecError

_ARITY = {"normal": 2, "uniform": 2, "lognormal": 2, "truncnormal": 4}


@dataclass(frozen=True)
class Dist:
    """One distribution: a named family with parameters, or a scipy.stats one."""

    name: str
    params: tuple[float, ...] = ()
    kwds: dict[str, Any] = field(default_factory=dict)
    scipy: bool = False
    offset: bool = False

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Inverse CDF at ``u`` (vectorised)."""
        from scipy import special, stats

        if self.scipy:
            return np.asarray(getattr(stats, self.name)(*self.params, **self.kwds).ppf(u))
        if self.name == "uniform":
            lo, hi = self.params
            return lo + (hi - lo) * u
        if self.name == "normal":
            mu, sigma = self.params
            return mu + sigma * special.ndtri(u)
        if self.name == "lognormal":
            mu, sigma = self.params
            return np.exp(mu + sigma * special.ndtri(u))
        mu, sigma, lo, hi = self.params
        a, b = special.ndtr((lo - mu) / sigma), special.ndtr((hi - mu) / sigma)
        return np.clip(mu + sigma * special.ndtri(a + u * (b - a)), lo, hi)

    def to_json(self) -> dict[str, Any]:
        """The header form of this distribution."""
        return {
            "name": self.name,
            "params": list(self.params),
            "kwds": self.kwds,
            "scipy": self.scipy,
            "offset": self.offset,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Dist:
        """Rebuild from :meth:`to_json`."""
        return cls(
            data["name"],
            tuple(data["params"]),
            dict(data.get("kwds", {})),
            bool(data.get("scipy")),
            bool(data.get("offset")),
        )


@dataclass(frozen=True)
class Around:
    """A perturbation applied as an offset to the field's nominal value."""

    spec: Any


def around(spec: Any) -> Around:
    """Mark ``spec`` as an offset around the script's value of the field."""
    return Around(spec)


def parse(spec: Any, *, where: str) -> Dist:
    """Validate a ``perturb=`` value and return its :class:`Dist`; SpecError names it."""
    if isinstance(spec, Around):
        inner = parse(spec.spec, where=where)
        return Dist(inner.name, inner.params, inner.kwds, inner.scipy, offset=True)
    if hasattr(spec, "dist") and hasattr(spec, "ppf"):
        return _scipy(spec, where)
    if not isinstance(spec, tuple | list) or not spec or not isinstance(spec[0], str):
        raise SpecError(
            f"{where}: {spec!r} is not a distribution; expected e.g. "
            "('normal', 7100, 50) or a frozen scipy.stats distribution"
        )
    name, *raw = spec
    if name not in _ARITY:
        raise SpecError(f"{where}: unknown distribution {name!r}; expected one of {sorted(_ARITY)}")
    if len(raw) != _ARITY[name]:
        raise SpecError(f"{where}: {name} takes {_ARITY[name]} parameters, got {len(raw)}")
    params = tuple(_number(v, where) for v in raw)
    if name in ("normal", "lognormal", "truncnormal") and params[1] <= 0:
        raise SpecError(f"{where}: sigma must be > 0, got {params[1]!r}")
    if name == "uniform" and params[1] <= params[0]:
        raise SpecError(f"{where}: uniform needs hi > lo, got lo={params[0]!r} hi={params[1]!r}")
    if name == "truncnormal" and params[3] <= params[2]:
        raise SpecError(f"{where}: truncnormal needs hi > lo, got {params[2]!r}, {params[3]!r}")
    return Dist(name, params)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise SpecError(f"{where}: parameter {value!r} is not a number")
    try:
        number = float(value)
    except OverflowError:  # an int beyond the float range
        number = math.inf
    if not math.isfinite(number):
        raise SpecError(f"{where}: parameter {value!r} is not finite")
    return number


def _scipy(frozen: Any, where: str) -> Dist:
    from scipy import stats

    name = getattr(frozen.dist, "name", None)
    if not name or type(getattr(stats, name, None)) is not type(frozen.dist):
        raise SpecError(
            f"{where}: only scipy.stats' own distributions can be recorded "
            f"and rebuilt; {type(frozen.dist).__name__} cannot"
        )
    params = tuple(_number(v, where) for v in frozen.args)
    kwds = {k: _number(v, where) for k, v in frozen.kwds.items()}
    return Dist(name, params, kwds, scipy=True)
