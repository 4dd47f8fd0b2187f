"""The sweep directory as one object: its path, its lock, its manifest, the paths inside.

Every operation on a sweep directory (run, resume, extend, open, show, compact, verify)
starts from a :class:`SweepDir`. It normalises what the user typed once (``~``, a
``manifest.jsonl`` given instead of its directory, relative paths, symlinks), takes the
lock, loads the manifest, rebuilds the design, and resolves every relative path read
back from disk, refusing any that would lead outside the directory.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gmat_sweep_dask.errors import SweepDirError, SweepDirWriteError
from gmat_sweep_dask.store import creation, layout, snapshot
from gmat_sweep_dask.store.confine import confined
from gmat_sweep_dask.store.header import new_header
from gmat_sweep_dask.store.lock import SweepLock
from gmat_sweep_dask.store.manifest import Full, Manifest
from gmat_sweep_dask.store.manifest_writer import ManifestWriter

if TYPE_CHECKING:
    from gmat_sweep_dask.design import Design


class SweepDir:
    """A sweep directory, whether or not it exists yet."""

    def __init__(self, path: str | Path) -> None:
        """Normalise ``path`` (a sweep directory or its manifest file).

        Raises:
            SweepDirError: ``path`` cannot be expanded (``~user`` of an unknown user).
        """
        self.path = normalise(path)

    def __repr__(self) -> str:
        return f"SweepDir({str(self.path)!r})"

    @property
    def manifest_path(self) -> Path:
        """Where the manifest lives."""
        return self.path / layout.MANIFEST

    def has_manifest(self) -> bool:
        """Whether a manifest exists here (the directory holds a sweep)."""
        return self.manifest_path.is_file()

    def is_empty(self) -> bool:
        """Whether the path is absent or an empty directory (a lock file aside)."""
        if not self.path.exists():
            return True
        if not self.path.is_dir():
            return False
        return all(p.name.startswith(layout.LOCK) for p in self.path.iterdir())

    def load(self, *, full: Full = False) -> Manifest:
        """Load the manifest (see :meth:`Manifest.load`)."""
        return Manifest.load(self.manifest_path, full=full)

    def design(self, manifest: Manifest) -> Design:
        """Rebuild the design recorded in ``manifest``'s header."""
        from gmat_sweep_dask.design import design_from_header

        return design_from_header(manifest.header["design"], self.path, manifest.run_count)

    @contextlib.contextmanager
    def locked(self, *, create: bool = False) -> Iterator[SweepLock]:
        """Hold the directory's lock for the body.

        With ``create`` a missing directory is made first, and removed again (with any
        parents made for it) if the body fails before anything but the lock was written
        into it, so a refused request leaves the file system as it was.

        Raises:
            SweepLockedError: another live driver holds the lock (named in the message).
            SweepDirError: the directory is missing (without ``create``) or not writable.
        """
        made = self._make() if create else []
        if not create and not self.path.is_dir():
            raise SweepDirError(f"{self.path}: no such sweep directory")
        lock = SweepLock(self.path)
        try:
            lock.acquire()
        except BaseException:  # a Ctrl-C may land just after the lock file was linked
            lock.release()
            _remove_empty(made)
            raise
        try:
            yield lock
        except BaseException:
            lock.release()
            if self.is_empty():
                _remove_empty(made)
            raise
        lock.release()

    def create(
        self,
        script: Path,
        design: Design,
        options: dict[str, Any],
        gmat: dict[str, Any] | None,
        *,
        fsync: bool = True,
    ) -> tuple[Manifest, ManifestWriter]:
        """Write a new sweep here: the script snapshot, design side files, the manifest.

        The manifest comes last, so it never names a file that is not there. ``options``
        are the run options recorded in the header (keep_raw, timeout, isolate). If this
        stops before the manifest is written (Ctrl-C, SIGTERM, an error), the files it
        wrote are removed: the directory is empty again and the same sweep can start; a
        driver killed outright leaves them listed in a marker (:mod:`.creation`), for
        the next run to clear.

        Raises:
            SweepDirError: a manifest exists already.
            ScriptError: a file the script includes is missing.
        """
        side = design.side_files()
        try:
            frozen = snapshot.take(
                script, self.path, before=lambda files: creation.begin(self.path, [*files, *side])
            )
            design.save(self.path)
            header = new_header(
                script=str(script),
                script_sha256=frozen["files"][frozen["path"]]["sha256"],
                snapshot=frozen,
                design=design.header(),
                run_count=design.n_runs,
                seed=design.seed,
                options=options,
                gmat=gmat,
            )
            writer = ManifestWriter.create(self.manifest_path, header, fsync=fsync)
        except BaseException:
            if creation.unfinished(self.path):  # only an empty directory gets a new sweep
                creation.clear(self.path)
            raise
        creation.finish(self.path)
        return Manifest(self.manifest_path, header), writer

    def clear_unfinished(self) -> None:
        """Under the lock: clear what a killed creation left (:func:`.creation.clear`),
        or the marker a creation killed just after its manifest was written left."""
        if creation.unfinished(self.path):
            creation.clear(self.path)
        else:
            creation.finish(self.path)

    def reopen(
        self,
        manifest: Manifest,
        *,
        grown: Design | None = None,
        script: Path | None = None,
        fsync: bool = True,
    ) -> ManifestWriter:
        """Open ``manifest`` for appending, first recording header changes durably.

        ``grown`` is a larger design replacing the recorded one (an extension); ``script``
        is a script whose current text is snapshotted for the runs still to run (drift
        allowed). Both are written as one header update, applied to ``manifest`` too.
        """
        writer = ManifestWriter.reopen(manifest, fsync=fsync)
        update: dict[str, Any] = {}
        if grown is not None:
            grown.save(self.path)
            update |= {"design": grown.header(), "run_count": grown.n_runs}
        if script is not None:
            version = 2 + sum(1 for _ in (self.path / snapshot.DIRECTORY).glob("v*"))
            frozen = snapshot.take(script, self.path, version=version)
            sha = frozen["files"][frozen["path"]]["sha256"]
            update |= {"snapshot": frozen, "script_sha256": sha, "script": str(script)}
        if update:
            writer.update_header(update)
            manifest.header.update(update)
        return writer

    def run_script(self, manifest: Manifest) -> Path | None:
        """The script snapshot the workers run (None for sweeps made before snapshots)."""
        recorded = manifest.header.get("snapshot")
        if not isinstance(recorded, dict):
            return None
        return self.inside(str(recorded.get("path")), what="script snapshot")

    def check_snapshot(self, manifest: Manifest) -> None:
        """Refuse to run more of a sweep whose script snapshot is gone or changed (the
        workers run it: the runs still to run would run other text than recorded).

        Raises:
            SweepDirError: a file of the recorded snapshot is missing, not a file, or
                holds other text than was written (each named).
        """
        script = self.run_script(manifest)
        if script is not None and not script.is_file():
            raise SweepDirError(
                f"{self.path}: the sweep's script snapshot {script.relative_to(self.path)} is "
                "missing, and the runs still to run need it; restore it from a copy of the "
                "sweep directory"
            )
        recorded = manifest.header.get("snapshot")
        found = snapshot.damaged(recorded, self.path) if isinstance(recorded, dict) else []
        if found:
            raise SweepDirError(
                f"{self.path}: the sweep's script snapshot changed since it was written: "
                f"{', '.join(found)}; the runs still to run would run other text than the "
                "manifest records: restore it from a copy of the sweep directory"
            )

    def inside(self, relative: str, *, what: str = "path") -> Path:
        """The absolute path of ``relative`` if it lies inside the sweep directory.

        ``relative`` comes from disk (the manifest, a commit record): it must be a
        relative path without ``..`` that, symlinks resolved, stays inside (see
        :func:`~gmat_sweep_dask.store.confine.confined`).

        Raises:
            SweepDirError: it is absolute, climbs out, or leads outside through a link.
        """
        return confined(self.path, relative, what=what)

    def _make(self) -> list[Path]:
        """Create the directory and its missing parents; return those made, deepest last."""
        missing = []
        for candidate in (self.path, *self.path.parents):
            if candidate.exists():
                break
            missing.append(candidate)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SweepDirWriteError(f"cannot create {self.path}: {exc.strerror}") from None
        if not self.path.is_dir():
            raise SweepDirError(f"{self.path} exists and is not a directory")
        return list(reversed(missing))


def normalise(path: str | Path) -> Path:
    """Absolute sweep directory for ``path`` (``~`` expanded, manifest file → its dir).

    Raises:
        SweepDirError: ``~user`` names no known user, or ``path`` is empty.
    """
    if not str(path).strip():
        raise SweepDirError("the sweep directory path is empty")
    try:
        expanded = Path(path).expanduser()
    except RuntimeError as exc:  # ~otheruser without such a user
        raise SweepDirError(f"cannot expand {str(path)!r}: {exc}") from None
    if expanded.name == layout.MANIFEST and not expanded.is_dir():
        expanded = expanded.parent
    return expanded.resolve()


def _remove_empty(made: list[Path]) -> None:
    """Remove directories this process made, deepest first, while they are empty."""
    for directory in reversed(made):
        try:
            directory.rmdir()
        except OSError:
            return
