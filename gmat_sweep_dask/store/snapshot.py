"""The frozen copy of the script a sweep runs, and the drift gate that compares it.

When a sweep is created, its script and every file it ``#Include``s (recursively) are
copied into ``<sweep>/script/``; the workers run that copy, so editing the user's file
while the sweep runs changes nothing. The main script keeps its name; included files
below the script's directory keep their relative place, any other (absolute or ``..``)
goes to ``script/_include/`` and the ``#Include`` line of the copy is rewritten to it.
An output file name that would leave a run's directory (absolute, or with ``..``) is
confined in the copy's text (:mod:`.outputnames`), so GMAT never looks for its directory.
The header records, per copied file, where it came from and the canonical SHA-256 of
its text, so :func:`drift` can say which of the user's files changed since, and that of
the copy written, so :func:`damaged` can say which copies changed since.

Only the script and its includes are frozen; data files the mission reads (ephemeris
or attitude inputs, gravity models) are read where the script says.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gmat_sweep_dask.errors import ScriptError
from gmat_sweep_dask.store.durable import writing
from gmat_sweep_dask.store.outputnames import confine_text, in_sequence, output_resources

DIRECTORY = "script"
_INCLUDE = re.compile(r"""^(\s*#include\s+)(['"]?)([^'";\r\n]+?)\2(\s*;?\s*)$""", re.I | re.M)
_MAX_FILES = 256


def canonical_text(data: bytes) -> str:
    """Script text with a BOM, CRLF/CR line ends and trailing newlines normalised."""
    text = data.decode("utf-8", errors="surrogateescape")
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return text.rstrip("\n") + "\n"


def canonical_sha256(path: Path) -> str:
    """SHA-256 of a script's canonical text (line ends, BOM, trailing blank lines aside)."""
    return _sha(canonical_text(path.read_bytes()))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", errors="surrogateescape")).hexdigest()


def take(
    script: Path,
    sweep_dir: Path,
    *,
    version: int = 1,
    before: Callable[[list[str]], None] | None = None,
) -> dict[str, Any]:
    """Copy ``script`` and its includes into ``sweep_dir``; return the header record.

    The record is ``{"path": <sweep-relative main copy>, "files": {<sweep-relative copy>:
    {"source": <absolute source>, "sha256": ...}}}``. ``version`` > 1 puts the copies in
    ``script/v<version>/`` (a later snapshot taken when drift was allowed). ``before`` is
    called with the sweep-relative files about to be written, before any is.

    Raises:
        ScriptError: an included file is missing or unreadable, or includes loop.
    """
    base = DIRECTORY if version == 1 else f"{DIRECTORY}/v{version}"
    plan = _plan(script.resolve(), base)
    if before is not None:
        before([target for target, _, _ in plan.values()])
    files: dict[str, Any] = {}
    for source, (target, original, text) in plan.items():
        final = sweep_dir / target
        final.parent.mkdir(parents=True, exist_ok=True)
        with writing(final) as tmp:
            tmp.write_bytes(text.encode("utf-8", errors="surrogateescape"))
        files[target] = {"source": str(source), "sha256": _sha(original), "copy_sha256": _sha(text)}
    return {"path": plan[script.resolve()][0], "files": files}


@contextmanager
def temporary(script: Path) -> Iterator[Path]:
    """The main script of a copy of ``script`` and its includes, taken as :func:`take`
    takes a sweep's, in a temporary directory removed afterwards: for reading or running
    the script outside a sweep without writing anything beside the user's files.

    Raises:
        ScriptError: an included file is missing or unreadable, or includes loop.
    """
    with tempfile.TemporaryDirectory(prefix="gmat-sweep-dask-script-") as tmp:
        yield Path(tmp) / take(script, Path(tmp))["path"]


def outputs_redirected(script: Path) -> list[str]:
    """``"<script>, line N: <line>"`` for each assignment of an output file name in the
    mission sequence of ``script`` (:func:`~.outputnames.in_sequence`; the outputs created
    in it or in its includes).

    Raises:
        ScriptError: an included file is missing or unreadable, or includes loop.
    """
    main = script.resolve()
    texts = {source: text for source, (_, text, _) in _plan(main, DIRECTORY).items()}
    found = in_sequence(texts[main], output_resources(texts.values()))
    return [f"{main.name}, line {n}: {line.strip().rstrip(';')}" for n, line in found]


def damaged(snapshot: dict[str, Any], sweep_dir: Path) -> list[str]:
    """The snapshot's copies in ``sweep_dir`` that are gone or no longer hold the text
    written, as ``"<sweep-relative path> (missing|changed)"``.

    The text written is recorded as ``copy_sha256``; snapshots recorded before that
    compare copies without ``#Include`` lines (written as read) with ``sha256``.
    """
    from gmat_sweep_dask.store.confine import confined

    found = []
    for target, record in snapshot.get("files", {}).items():
        try:
            text = canonical_text(confined(sweep_dir, target, what="script snapshot").read_bytes())
        except OSError:
            found.append(f"{target} (missing)")
            continue
        expected = record.get("copy_sha256")
        if expected is None and not _INCLUDE.search(text):
            expected = record.get("sha256")
        if expected is not None and _sha(text) != expected:
            found.append(f"{target} (changed)")
    return found


def drift(snapshot: dict[str, Any], main: Path | None) -> list[str]:
    """The user's files that differ from the snapshot, as ``"<path> (changed|missing)"``.

    ``main`` replaces the recorded source of the main script (``resume --script``).
    """
    changed = []
    for target, record in snapshot.get("files", {}).items():
        source = main if (main is not None and target == snapshot.get("path")) else None
        source = source or Path(str(record.get("source")))
        try:
            now = canonical_sha256(source)
        except OSError:
            changed.append(f"{source} (missing)")
            continue
        if now != record.get("sha256"):
            changed.append(f"{source} (changed)")
    return changed


def header_drift(header: dict[str, Any], main: Path | None) -> list[str]:
    """The user's files that no longer match a manifest header's script (see :func:`drift`).

    Headers written before snapshots existed are compared by the main script's hash.
    """
    recorded = header.get("snapshot")
    if recorded:
        return drift(recorded, main)
    source = main or Path(header["script"])
    try:
        same = canonical_sha256(source) == header["script_sha256"]
    except OSError:
        return [f"{source} (missing)"]
    return [] if same else [f"{source} (changed)"]


def _plan(main: Path, base: str) -> dict[Path, tuple[str, str, str]]:
    """Every file to copy: source → (sweep-relative target, its text, the text to write).

    The text to write has its ``#Include`` lines pointed at the other copies, and each
    output file name that would leave a run's directory confined (:mod:`.outputnames`).
    """
    root = main.parent
    targets: dict[Path, str] = {main: f"{base}/{main.name}"}
    texts: dict[Path, str] = {}
    queue = [main]
    while queue:
        source = queue.pop()
        text = _read(source)
        for include in _includes(text, source):
            if include not in targets:
                if len(targets) >= _MAX_FILES:
                    raise ScriptError(f"{main}: more than {_MAX_FILES} #Include files")
                targets[include] = _target(include, root, base, len(targets))
                queue.append(include)
        texts[source] = text
    plan = {}
    outputs = output_resources(texts.values())
    for source, text in texts.items():
        here = Path(targets[source]).parent

        def relink(match: re.Match[str], source: Path = source, here: Path = here) -> str:
            target = targets[_resolve(match.group(3), source)]
            relative = os.path.relpath(target, here)
            return f"{match.group(1)}'{relative}'{match.group(4)}"

        plan[source] = (targets[source], text, confine_text(_INCLUDE.sub(relink, text), outputs))
    return plan


def _includes(text: str, source: Path) -> list[Path]:
    found = []
    for match in _INCLUDE.finditer(text):
        path = _resolve(match.group(3), source)
        if not path.is_file():
            raise ScriptError(f"{source}: #Include {match.group(3).strip()!r}: no such file")
        found.append(path)
    return found


def _resolve(name: str, source: Path) -> Path:
    path = Path(name.strip()).expanduser()
    return (path if path.is_absolute() else source.parent / path).resolve()


def _target(path: Path, root: Path, base: str, index: int) -> str:
    if root in path.parents:
        return f"{base}/{path.relative_to(root).as_posix()}"
    return f"{base}/_include/{index:03d}-{path.name}"


def _read(path: Path) -> str:
    try:
        return canonical_text(path.read_bytes())
    except OSError as exc:
        raise ScriptError(f"cannot read {path}: {exc.strerror}") from None
