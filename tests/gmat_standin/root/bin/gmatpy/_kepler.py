"""Two-body physics of the GMAT stand-in engine: point-mass Earth, exact analytic Kepler.

* ``MU = 398600.4415 km^3/s^2`` (GMAT's Earth), every force model is treated as point-mass
  Earth only (drag, SRP, harmonics and third bodies are ignored).
* Propagation solves Kepler's equation exactly (Newton, to 1e-15 rad): elliptic
  (``ECC < 1``) and hyperbolic (``ECC > 1``, ``SMA < 0``). Parabolic and rectilinear
  orbits are rejected with :class:`OrbitError`.
* Keplerian angles follow GMAT's conventions, in degrees: circular orbits (``ECC < 1e-11``)
  put AOP = 0 and measure TA from the node; equatorial orbits put RAAN = 0 and measure
  AOP from the x axis; circular equatorial orbits report the true longitude as TA.
* Earth rotation (for longitude, latitude and ground stations) is a uniform spin of
  ``7.2921159e-5 rad/s`` about the MJ2000 z axis from GMST = 280.46061837504 deg at J2000
  (UTC used for UT1; no precession, nutation or polar motion). Altitude and latitude are
  geodetic, on GMAT's Earth ellipsoid (equatorial radius 6378.1363 km, flattening
  0.0033527) about the MJ2000 z axis: within tens of metres of real GMAT, whose pole
  precesses. Ground stations sit on a sphere of that radius (``StateType = Spherical``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

MU = 398600.4415
R_EARTH = 6378.1363
FLATTENING = 0.0033527
OMEGA_EARTH = 7.2921159e-5
GMST_J2000 = math.radians(280.46061837504)
ECC_TOL = 1e-11
INC_TOL = 1e-11
_TWO_PI = 2.0 * math.pi


class OrbitError(ValueError):
    """An orbit the stand-in cannot represent or propagate."""


def kep_to_cart(
    sma: float, ecc: float, inc: float, raan: float, aop: float, ta: float
) -> tuple[list[float], list[float]]:
    """Keplerian elements (km, deg) to an MJ2000 Cartesian state (km, km/s)."""
    if sma == 0.0:
        raise OrbitError("SMA must not be 0")
    if abs(ecc - 1.0) < 1e-12:
        raise OrbitError("parabolic orbits (ECC = 1) are not supported by the stand-in")
    if ecc < 1.0 and sma < 0.0:
        raise OrbitError(f"SMA = {sma:g} < 0 requires a hyperbolic orbit (ECC > 1)")
    if ecc > 1.0 and sma > 0.0:
        raise OrbitError(f"ECC = {ecc:g} > 1 (hyperbolic) requires SMA < 0, got SMA = {sma:g}")
    nu = math.radians(ta)
    p = sma * (1.0 - ecc * ecc)
    denom = 1.0 + ecc * math.cos(nu)
    if denom <= 1e-12:
        raise OrbitError(f"TA = {ta:g} deg lies beyond the asymptote of this hyperbola")
    r = p / denom
    rp = (r * math.cos(nu), r * math.sin(nu))
    k = math.sqrt(MU / p)
    vp = (-k * math.sin(nu), k * (ecc + math.cos(nu)))
    co, so = math.cos(math.radians(raan)), math.sin(math.radians(raan))
    cw, sw = math.cos(math.radians(aop)), math.sin(math.radians(aop))
    ci, si = math.cos(math.radians(inc)), math.sin(math.radians(inc))
    p_vec = (co * cw - so * sw * ci, so * cw + co * sw * ci, sw * si)
    q_vec = (-co * sw - so * cw * ci, -so * sw + co * cw * ci, cw * si)
    pos = [rp[0] * p_vec[j] + rp[1] * q_vec[j] for j in range(3)]
    vel = [vp[0] * p_vec[j] + vp[1] * q_vec[j] for j in range(3)]
    return pos, vel


def elements(r: np.ndarray, v: np.ndarray) -> dict[str, np.ndarray]:
    """Keplerian elements of Cartesian states ``r``, ``v`` (shape (n, 3)); angles in deg.

    Keys: SMA, ECC, INC, RAAN, AOP, TA, MA, EA, RadPer, RadApo, Energy, HMAG.
    """
    rmag = np.linalg.norm(r, axis=1)
    v2 = np.einsum("ij,ij->i", v, v)
    rv = np.einsum("ij,ij->i", r, v)
    h = np.cross(r, v)
    hmag = np.linalg.norm(h, axis=1)
    energy = 0.5 * v2 - MU / rmag
    with np.errstate(divide="ignore", invalid="ignore"):
        sma = -MU / (2.0 * energy)
        evec = ((v2 - MU / rmag)[:, None] * r - rv[:, None] * v) / MU
        ecc = np.linalg.norm(evec, axis=1)
        inc = np.arccos(np.clip(h[:, 2] / hmag, -1.0, 1.0))
        node = np.stack([-h[:, 1], h[:, 0], np.zeros_like(hmag)], axis=1)
        nmag = np.linalg.norm(node, axis=1)
        equatorial = (inc < INC_TOL) | (inc > math.pi - INC_TOL)
        circular = ecc < ECC_TOL
        raan = np.where(equatorial, 0.0, np.arctan2(node[:, 1], node[:, 0]))
        # Reference direction for AOP/TA: the node line, or the x axis if equatorial.
        ref = np.where(equatorial[:, None], np.array([1.0, 0.0, 0.0]), node / nmag[:, None])
        hhat = h / hmag[:, None]
        side = np.cross(hhat, ref)  # in-plane, 90 deg ahead of ref
        aop = np.arctan2(np.einsum("ij,ij->i", evec, side), np.einsum("ij,ij->i", evec, ref))
        aop = np.where(circular, 0.0, aop)
        # TA: from periapsis, or from ref when circular.
        peri = np.where(circular[:, None], ref, evec / np.where(circular, 1.0, ecc)[:, None])
        peri_side = np.cross(hhat, peri)
        ta = np.arctan2(np.einsum("ij,ij->i", r, peri_side), np.einsum("ij,ij->i", r, peri))
        ell = ecc < 1.0
        half = np.where(ell, np.sqrt(np.abs((1.0 - ecc) / (1.0 + ecc))), 1.0)
        ea = np.where(ell, 2.0 * np.arctan(half * np.tan(ta / 2.0)), 0.0)
        ma = np.where(ell, ea - ecc * np.sin(ea), 0.0)
        hyp = ecc > 1.0
        ha = np.where(
            hyp,
            2.0
            * np.arctanh(
                np.clip(np.sqrt(np.abs((ecc - 1.0) / (ecc + 1.0))) * np.tan(ta / 2.0), -1, 1)
            ),
            0.0,
        )
        ma = np.where(hyp, ecc * np.sinh(ha) - ha, ma)
        radper = sma * (1.0 - ecc)
        radapo = np.where(ell, sma * (1.0 + ecc), np.inf)
    deg = np.degrees
    return {
        "SMA": sma,
        "ECC": ecc,
        "INC": deg(inc),
        "RAAN": deg(raan) % 360.0,
        "AOP": deg(aop) % 360.0,
        "TA": deg(ta) % 360.0,
        "EA": deg(ea) % 360.0,
        "MA": np.where(hyp, deg(ma), deg(ma) % 360.0),
        "RadPer": radper,
        "RadApo": radapo,
        "Energy": energy,
        "HMAG": hmag,
    }


def cart_to_kep(r: list[float], v: list[float]) -> list[float]:
    """One Cartesian state to ``[SMA, ECC, INC, RAAN, AOP, TA]`` (km, deg).

    Scalar twin of :func:`elements` (same conventions), in plain math for speed.
    """
    rx, ry, rz = r
    vx, vy, vz = v
    rmag = math.sqrt(rx * rx + ry * ry + rz * rz)
    hx, hy, hz = ry * vz - rz * vy, rz * vx - rx * vz, rx * vy - ry * vx
    hmag = math.sqrt(hx * hx + hy * hy + hz * hz)
    if rmag == 0.0 or hmag < 1e-10:
        raise OrbitError("the Cartesian state has no Keplerian representation")
    v2, rv = vx * vx + vy * vy + vz * vz, rx * vx + ry * vy + rz * vz
    energy = 0.5 * v2 - MU / rmag
    k = v2 - MU / rmag
    ev = [(k * a - rv * b) / MU for a, b in zip(r, v, strict=True)]
    ecc = math.sqrt(ev[0] ** 2 + ev[1] ** 2 + ev[2] ** 2)
    if energy == 0.0 or abs(ecc - 1.0) < 1e-12:
        raise OrbitError("parabolic orbits (ECC = 1) are not supported by the stand-in")
    sma = -MU / (2.0 * energy)
    inc = math.acos(max(-1.0, min(1.0, hz / hmag)))
    hh = (hx / hmag, hy / hmag, hz / hmag)
    if inc < INC_TOL or inc > math.pi - INC_TOL:
        raan, ref = 0.0, (1.0, 0.0, 0.0)
    else:
        nmag = math.hypot(hx, hy)
        raan, ref = math.atan2(hx, -hy), (-hy / nmag, hx / nmag, 0.0)
    circular = ecc < ECC_TOL
    aop = 0.0 if circular else math.atan2(_dot(ev, _cross(hh, ref)), _dot(ev, ref))
    peri = ref if circular else (ev[0] / ecc, ev[1] / ecc, ev[2] / ecc)
    ta = math.atan2(_dot(r, _cross(hh, peri)), _dot(r, peri))
    return [
        sma,
        ecc,
        math.degrees(inc),
        math.degrees(raan) % 360.0,
        math.degrees(aop) % 360.0,
        math.degrees(ta) % 360.0,
    ]


def _dot(a: Any, b: Any) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _cross(a: Any, b: Any) -> tuple[float, float, float]:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


class Orbit:
    """An analytic two-body trajectory through state (``r0``, ``v0``) at UTC time ``epoch``."""

    def __init__(self, epoch: float, r0: list[float], v0: list[float]) -> None:
        self.epoch = float(epoch)
        r = np.asarray(r0, dtype=float)
        v = np.asarray(v0, dtype=float)
        rmag = float(np.linalg.norm(r))
        if rmag == 0.0:
            raise OrbitError("the spacecraft sits at the centre of the Earth")
        h = np.cross(r, v)
        hmag = float(np.linalg.norm(h))
        if hmag < 1e-10:
            raise OrbitError("rectilinear orbit (zero angular momentum) is not supported")
        v2 = float(v @ v)
        evec = ((v2 - MU / rmag) * r - float(r @ v) * v) / MU
        e = float(np.linalg.norm(evec))
        energy = 0.5 * v2 - MU / rmag
        if abs(e - 1.0) < 1e-12 or energy == 0.0:
            raise OrbitError("parabolic orbits (ECC = 1) are not supported by the stand-in")
        self.a = -MU / (2.0 * energy)
        self.e = 0.0 if e < 1e-14 else e
        self.P = r / rmag if self.e == 0.0 else evec / e
        self.Q = np.cross(h / hmag, self.P)
        x0, y0 = float(r @ self.P), float(r @ self.Q)
        if self.e < 1.0:
            self.n = math.sqrt(MU / self.a**3)
            self.b = self.a * math.sqrt(1.0 - self.e**2)
            e0 = math.atan2(y0 / self.b, x0 / self.a + self.e)
            self.m0 = e0 - self.e * math.sin(e0)
            self.period = _TWO_PI / self.n
        else:
            self.n = math.sqrt(MU / (-self.a) ** 3)
            self.b = -self.a * math.sqrt(self.e**2 - 1.0)
            h0 = math.asinh(y0 / self.b)
            self.m0 = self.e * math.sinh(h0) - h0
            self.period = math.inf

    def states(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions and velocities (shape (n, 3)) at UTC times ``t`` (shape (n,))."""
        t = np.atleast_1d(np.asarray(t, dtype=float))
        m = self.m0 + self.n * (t - self.epoch)
        e, a = self.e, self.a
        if e < 1.0:
            m = np.remainder(m + math.pi, _TWO_PI) - math.pi
            ea = m + e * np.sin(m) if e < 0.8 else np.where(m == 0.0, 0.0, np.sign(m) * math.pi)
            for _ in range(60):
                step = (ea - e * np.sin(ea) - m) / (1.0 - e * np.cos(ea))
                ea = ea - step
                if float(np.max(np.abs(step), initial=0.0)) < 1e-15:
                    break
            cos_e, sin_e = np.cos(ea), np.sin(ea)
            x, y = a * (cos_e - e), self.b * sin_e
            rad = a * (1.0 - e * cos_e)
            k = math.sqrt(MU * a) / rad
            vx, vy = -k * sin_e, k * math.sqrt(1.0 - e * e) * cos_e
        else:
            ha = np.arcsinh(m / e)
            for _ in range(200):
                step = (e * np.sinh(ha) - ha - m) / (e * np.cosh(ha) - 1.0)
                ha = ha - step
                if float(np.max(np.abs(step), initial=0.0)) < 1e-15:
                    break
            ch, sh = np.cosh(ha), np.sinh(ha)
            x, y = a * (ch - e), self.b * sh
            rad = a * (1.0 - e * ch)
            k = math.sqrt(-MU * a) / rad
            vx, vy = -k * sh, k * math.sqrt(e * e - 1.0) * ch
        pos = np.outer(x, self.P) + np.outer(y, self.Q)
        vel = np.outer(vx, self.P) + np.outer(vy, self.Q)
        return pos, vel

    def time_to_anomaly(self, target_m: float, t: float) -> float:
        """Seconds after UTC time ``t`` until the mean anomaly next equals ``target_m`` (rad).

        Never 0: a spacecraft sitting exactly on the target goes round once more, like a
        GMAT stop condition (checked only after the first step). Raises OrbitError if the
        anomaly is never reached (hyperbolic orbits past the target).
        """
        m_now = self.m0 + self.n * (t - self.epoch)
        if self.e < 1.0:
            dm = (target_m - m_now) % _TWO_PI
            if dm < 1e-12:
                dm = _TWO_PI
            return dm / self.n
        if target_m - m_now <= 1e-12:
            raise OrbitError("stop condition is never met on this hyperbolic trajectory")
        return (target_m - m_now) / self.n


def gmst(t_utc: np.ndarray) -> np.ndarray:
    """Earth rotation angle (rad) at UTC seconds since J2000 (uniform spin model)."""
    return GMST_J2000 + OMEGA_EARTH * np.asarray(t_utc, dtype=float)


def to_fixed(t_utc: np.ndarray, r: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotate MJ2000 states into the Earth-fixed frame of the uniform spin model."""
    th = gmst(t_utc)
    c, s = np.cos(th), np.sin(th)
    rf = np.stack([c * r[:, 0] + s * r[:, 1], -s * r[:, 0] + c * r[:, 1], r[:, 2]], axis=1)
    vr = np.stack([c * v[:, 0] + s * v[:, 1], -s * v[:, 0] + c * v[:, 1], v[:, 2]], axis=1)
    vf = vr - np.cross(np.array([0.0, 0.0, OMEGA_EARTH]), rf)
    return rf, vf


def station_inertial(t_utc: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """MJ2000 positions (n, 3) of an Earth-fixed point ``fixed`` (3,) at UTC times."""
    th = gmst(t_utc)
    c, s = np.cos(th), np.sin(th)
    return np.stack(
        [c * fixed[0] - s * fixed[1], s * fixed[0] + c * fixed[1], np.full_like(th, fixed[2])],
        axis=1,
    )


def geodetic(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Geodetic latitude (rad) and height (km) above the Earth ellipsoid of positions (n, 3)."""
    e2 = FLATTENING * (2.0 - FLATTENING)
    p = np.hypot(r[:, 0], r[:, 1])
    lat = np.arctan2(r[:, 2], p * (1.0 - e2))
    for _ in range(6):  # converges to ~1e-15 rad for any height above a few km below ground
        n = R_EARTH / np.sqrt(1.0 - e2 * np.sin(lat) ** 2)
        lat = np.arctan2(r[:, 2] + e2 * n * np.sin(lat), p)
    n = R_EARTH / np.sqrt(1.0 - e2 * np.sin(lat) ** 2)
    # Height along the normal, well-conditioned at every latitude.
    height = p * np.cos(lat) + r[:, 2] * np.sin(lat) - R_EARTH**2 / n
    return lat, height


def geodetic_to_fixed(lat_deg: float, lon_deg: float, alt_km: float) -> np.ndarray:
    """Earth-fixed Cartesian (km) of a point on the spherical Earth at ``alt_km``."""
    lat, lon = math.radians(lat_deg), math.radians(lon_deg)
    rad = R_EARTH + alt_km
    return np.array(
        [
            rad * math.cos(lat) * math.cos(lon),
            rad * math.cos(lat) * math.sin(lon),
            rad * math.sin(lat),
        ]
    )
