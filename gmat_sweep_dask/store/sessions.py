"""The wall-clock time of a sweep: one session per run/resume/extend call that ran it.

A session lasts from the moment the driver's call starts until its last run is recorded
and the sweep is compacted (cluster start-up and the checks before it included). The
manifest header holds them, as ``sessions``: a list of ``{"started", "ended", "ran"}``
(ISO 8601 UTC timestamps; ``ran`` runs recorded), with ``options`` when a resume ran
with run options other than the header's (e.g. ``{"isolate": true}``). A session is
written when it begins (``ended`` null) and again when it ends, each time as one header
update line, so a driver killed outright (SIGKILL, a power cut) leaves a session whose
end is the last run it recorded. The closing line of a sweep, ``show``'s ``wall`` and
the manifest all read their figure through :func:`seconds` and :func:`wall`, so they
agree.

Sweeps recorded before sessions existed have none; their wall time is the span of their
runs' own timestamps (first start to last end), said so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gmat_sweep_dask import wording

if TYPE_CHECKING:
    from gmat_sweep_dask.store.manifest import Manifest
    from gmat_sweep_dask.store.manifest_writer import ManifestWriter

KEY = "sessions"


def now() -> str:
    """The current time as a session timestamp (ISO 8601, UTC, microseconds)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def begin(
    header: Mapping[str, Any], started: str, options: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The header update recording a session that began at ``started``; the run
    ``options`` in force (``keep_raw``, ``timeout``, ``isolate``) that differ from the
    header's are recorded with it, as ``options``."""
    session: dict[str, Any] = {"started": started, "ended": None, "ran": 0}
    changed = {k: v for k, v in (options or {}).items() if header.get(k) != v}
    return {KEY: [*recorded(header), session | ({"options": changed} if changed else {})]}


def end(header: Mapping[str, Any], started: str, ran: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header update ending, now, the session that began at ``started``; and it.

    Raises:
        ValueError: that session is not the header's last (its beginning was never
            recorded), so there is nothing to end.
    """
    sessions = recorded(header)
    if not sessions or sessions[-1].get("started") != started:
        raise ValueError(f"no session begun at {started} to end")
    last = {**sessions[-1], "ended": now(), "ran": int(ran)}
    return {KEY: [*sessions[:-1], last]}, last


def record_begin(
    manifest: Manifest,
    writer: ManifestWriter,
    started: str,
    options: Mapping[str, Any] | None = None,
) -> None:
    """Durably record (one header update) that a session began at ``started`` (with the
    run ``options`` that differ from the header's, see :func:`begin`)."""
    _amend(manifest, writer, begin(manifest.header, started, options))


def record_end(
    manifest: Manifest, writer: ManifestWriter, started: str, ran: int
) -> dict[str, Any]:
    """Durably record, now, the end of the session begun at ``started``; return it.

    Raises:
        ValueError: that session's beginning was never recorded.
    """
    update, session = end(manifest.header, started, ran)
    _amend(manifest, writer, update)
    return session


def _amend(manifest: Manifest, writer: ManifestWriter, update: dict[str, Any]) -> None:
    writer.update_header(update)
    manifest.header.update(update)


def recorded(header: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The header's sessions that are well-formed (a hand-edited one is left out)."""
    found = header.get(KEY)
    if not isinstance(found, list):
        return []
    return [s for s in found if isinstance(s, dict) and _time(s.get("started")) is not None]


def seconds(session: Mapping[str, Any]) -> float | None:
    """How long ``session`` took, from its recorded timestamps (None while it runs)."""
    started, ended = _time(session.get("started")), _time(session.get("ended"))
    if started is None or ended is None:
        return None
    return max((ended - started).total_seconds(), 0.0)


@dataclass(frozen=True)
class Wall:
    """A sweep's wall-clock time: the seconds of each session, summed.

    ``interrupted`` counts sessions that never recorded their end (their end is the
    last run they recorded); ``running`` says the last one is running now (counted to
    now); ``inferred`` says the figure comes from the runs' own
    timestamps (a sweep recorded before sessions existed).
    """

    parts: tuple[float, ...]
    interrupted: int = 0
    running: bool = False
    inferred: bool = False

    @property
    def total_s(self) -> float | None:
        """Seconds in all (None: nothing has run)."""
        return sum(self.parts) if self.parts else None

    def describe(self) -> str:
        """``12.0 s``, ``15.2 s in 2 sessions (12.0 s, 3.2 s)``, or ``-``."""
        if not self.parts:
            return "-"
        text = wording.seconds(self.total_s)
        if len(self.parts) > 1:
            shown = ", ".join(wording.seconds(p) for p in self.parts[:6])
            more = ", ..." if len(self.parts) > 6 else ""
            text += f" in {wording.plural(len(self.parts), 'session')} ({shown}{more})"
        notes = ["the last still running"] if self.running else []
        if self.interrupted:
            ended = "its" if self.interrupted == 1 else "their"
            notes.append(
                f"{wording.plural(self.interrupted, 'session')} killed: counted to {ended} "
                "last recorded run"
            )
        if self.inferred:
            notes.append("from the runs' timestamps: this sweep predates session records")
        return text + (f"; {'; '.join(notes)}" if notes else "")


def wall(
    header: Mapping[str, Any], entries: Iterable[Mapping[str, Any]], *, running: bool = False
) -> Wall:
    """The wall time of the sweep whose manifest has ``header`` and run ``entries``.

    ``entries`` need their ``started``/``ended`` timestamps (a full manifest load) only
    when :func:`needs_run_times` says so; they are not read otherwise. ``running``: a
    live driver holds the sweep now, so a last session without an end is running
    (counted to now) rather than killed.
    """
    sessions = recorded(header)
    if not needs_run_times(header, running=running):
        entries = ()
    spans = [
        (s, e)
        for s, e in ((_time(x.get("started")), _time(x.get("ended"))) for x in entries)
        if s is not None and e is not None
    ]
    if not sessions:
        if not spans:
            return Wall(())
        first, last = min(s for s, _ in spans), max(e for _, e in spans)
        return Wall(((last - first).total_seconds(),), inferred=True)
    parts, interrupted, live = [], 0, False
    starts = [_time(s["started"]) for s in sessions]
    for i, session in enumerate(sessions):
        took = seconds(session)
        if took is None and running and i == len(sessions) - 1:
            took, live = seconds({**session, "ended": now()}), True
        elif took is None:  # killed: up to the last run it recorded
            began = starts[i]
            until = starts[i + 1] if i + 1 < len(sessions) else None
            ends = [e for s, e in spans if s >= began and (until is None or e <= until)]
            took = (max(ends) - began).total_seconds() if ends else 0.0
            interrupted += 1
        parts.append(max(took, 0.0))
    return Wall(tuple(parts), interrupted, live)


def needs_run_times(header: Mapping[str, Any], *, running: bool = False) -> bool:
    """Whether :func:`wall` needs the runs' timestamps: the sweep has no sessions, or
    one that never recorded its end (killed) and is not the one running now."""
    sessions = recorded(header)
    return not sessions or any(
        seconds(s) is None and not (running and i == len(sessions) - 1)
        for i, s in enumerate(sessions)
    )


def _time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
