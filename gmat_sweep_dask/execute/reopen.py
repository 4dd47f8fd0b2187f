"""Reading back a recorded sweep: reopening it, or checking a directory holds this sweep.

:func:`reopen` is :meth:`Sweep.from_manifest <gmat_sweep_dask.execute.sweep.Sweep.from_manifest>`:
the design rebuilt from the header, options left unset taken from it, and the user's
script compared with the frozen snapshot (:mod:`gmat_sweep_dask.store.snapshot`).
:func:`recorded_here` is the check a run makes under the lock before it writes anything.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from gmat_sweep_dask.errors import ScriptError, SpecError, SweepDirError
from gmat_sweep_dask.execute.contexts import PerRun, check_given
from gmat_sweep_dask.execute.postprocess import hook_of_header
from gmat_sweep_dask.store import repair, snapshot
from gmat_sweep_dask.store.sweepdir import SweepDir
from gmat_sweep_dask.wording import plural

if TYPE_CHECKING:
    from gmat_sweep_dask.design import Design
    from gmat_sweep_dask.store.manifest import Manifest

S = TypeVar("S")


def reopen(
    cls: Callable[..., S],
    out: str | Path,
    script: str | Path | None,
    allow_script_drift: bool,
    options: dict[str, Any],
    per_run: dict[str, Any] | None = None,
) -> tuple[S, Manifest, bool]:
    """The sweep recorded in ``out`` (made by ``cls``, a ``Sweep`` class), its manifest,
    and whether its script drifted (allowed). ``options`` (``keep_raw``, ``timeout``,
    ``isolate``) left None take the recorded values. See ``Sweep.from_manifest``.

    ``per_run``: ``postprocess``, else the hook the header names (a hook that was a
    Python callable must be given again); each run gets its recorded context back, and
    runs never recorded get theirs from ``context``.

    Raises:
        ScriptError: the script changed (each changed file named) and drift is not allowed.
        SpecError: the recorded hook cannot be loaded, or was a callable not given again.
    """
    sweep_dir = SweepDir(out)
    manifest = sweep_dir.load()
    header = manifest.header
    recorded = header.get("snapshot")
    user = Path(script) if script is not None else Path(header["script"])
    changed = snapshot.header_drift(header, user if script is not None else None)
    if recorded and not user.is_file() and script is None:
        user = sweep_dir.inside(recorded["path"], what="script snapshot")
    sweep = cls(
        user,
        sweep_dir.design(manifest),
        sweep_dir.path,
        **{k: header.get(k) if v is None else v for k, v in options.items()},
    )
    per_run = per_run or {}
    hook = hook_of_header(header.get("postprocess"), per_run.get("postprocess"))
    sweep.per_run = PerRun(hook, check_given(per_run.get("context")))  # type: ignore[attr-defined]
    changed = [c for c in changed if not c.endswith("(missing)") or script is not None]
    if changed and not allow_script_drift:
        raise ScriptError(
            f"the script changed since the sweep started: {', '.join(changed)}; "
            "pass allow_script_drift=True / --allow-script-drift to run the new text"
        )
    if not changed and len(manifest.pending()):  # drift allowed: a new snapshot is taken
        sweep_dir.check_snapshot(manifest)
    return sweep, manifest, bool(changed)


def check_growth(current: Design, grown: Design, *, reopened: bool) -> None:
    """Refuse to grow a sweep not reopened from its manifest, or into a design no larger.

    Raises:
        SpecError: naming both run counts.
    """
    if not reopened:
        raise SpecError("only a sweep reopened with Sweep.from_manifest can grow")
    if grown.n_runs <= current.n_runs:
        raise SpecError(
            f"the new design has {grown.n_runs} runs; it must have more than {current.n_runs}"
        )


def recorded_here(
    sweep_dir: SweepDir,
    script: Path,
    design: Design,
    recorded_design: dict[str, Any] | None,
    *,
    reopened: bool,
) -> Manifest | None:
    """The manifest in ``sweep_dir`` if it records this very sweep (read under the lock);
    None for an empty or new directory. ``recorded_design`` is the header's design of a
    reopened sweep that grows (None otherwise: ``design`` must match the header's); a
    ``reopened`` sweep's script is checked against its snapshot instead of the header.
    Ok runs whose data is lost are recorded pending (:func:`~.store.repair.verified`).

    Raises:
        SweepDirError: the directory holds another sweep, or other files.
    """
    sweep_dir.clear_unfinished()  # a creation killed before its manifest: nothing ran
    if not sweep_dir.has_manifest():
        if not sweep_dir.is_empty():
            raise SweepDirError(
                f"output directory {sweep_dir.path} exists and is not an empty directory "
                "or a sweep directory"
            )
        return None
    manifest = sweep_dir.load()
    header = manifest.header
    recorded_nominal = header["design"].get("nominal")
    if recorded_nominal and recorded_design is None:
        design.resolve(dict(recorded_nominal))
    same_script = reopened or header["script_sha256"] == _sha(script)
    if not same_script or header["design"] != (recorded_design or design.header()):
        raise SweepDirError(
            f"output directory {sweep_dir.path} holds a different sweep "
            f"(script {header['script']}, {plural(header['run_count'], 'run')}); "
            "choose another output directory, or resume that sweep"
        )
    verified = repair.verified(manifest, design)  # runs whose data is lost: pending
    if not reopened and len(verified.pending()):  # reopen() checked it knowing of drift
        sweep_dir.check_snapshot(verified)
    return verified


def _sha(script: Path) -> str:
    try:
        return snapshot.canonical_sha256(script)
    except OSError as exc:
        raise ScriptError(f"cannot read {script}: {exc.strerror}") from None
