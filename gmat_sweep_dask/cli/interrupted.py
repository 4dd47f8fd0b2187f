"""What a command says when SIGINT (Ctrl-C) or SIGTERM stops it: at most two lines, the
last one how to go on (exit code 128 + the signal's number)."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from gmat_sweep_dask.store.layout import MANIFEST


def interrupted_lines(signum: int, command: str | None, kwargs: dict[str, Any]) -> list[str]:
    """The lines for ``command`` (its click name; ``kwargs`` its arguments) stopped by
    ``signum``: the manifest is intact, and how to resume; a new sweep stopped before its
    manifest was written has nothing to resume: the same command starts it."""
    name = signal.Signals(signum).name
    out = kwargs.get("out")
    if out and not _has_manifest(Path(out)):  # `resume` would say "no manifest here"
        return [
            f"gmat-sweep-dask: interrupted by {name} before the sweep recorded anything",
            "start it with: the same command again",
        ]
    said = [
        f"gmat-sweep-dask: interrupted by {name}; the manifest is intact and finished runs are kept"
    ]
    where: Path | None = out or kwargs.get("sweep_dir")
    again = {"show": None, "verify": None, "compact": "compact"}.get(command or "", "resume")
    if kwargs.get("until"):  # monte-carlo --until: resume would not grow it
        said.append("go on with: the same command (it continues to the same runs)")
    elif where and again:
        said.append(f"{again} with: gmat-sweep-dask {again} {where}")
    return said


def _has_manifest(out: Path) -> bool:
    """Whether ``out`` (a sweep directory or its manifest) holds a manifest. Reads nothing
    else: an interrupted import (numpy's, say) cannot be imported again in this process."""
    return (out / MANIFEST).is_file() or (out.name == MANIFEST and out.is_file())
