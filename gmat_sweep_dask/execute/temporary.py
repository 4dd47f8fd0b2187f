"""``out=None``: a sweep in a temporary directory, for quick looks.

The directory is made under the system's temporary directory (``tempfile.gettempdir()``:
``TMPDIR``, else ``/tmp``), private to the user (mode 0700), and named
``gmat-sweep-dask-*``. It lives as long as the returned frame **or any frame derived from
it** (a projection, ``loc``, ``per_run(...)``): it is removed when the last of them is
garbage collected, and at the latest when the Python process exits normally. A call that
raises (bad input, Ctrl-C) removes it at once: a temporary sweep is not resumable.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from gmat_sweep_dask.analysis import frames

if TYPE_CHECKING:
    import dask.dataframe as dd

PREFIX = "gmat-sweep-dask-"


def run_in(
    out: str | Path | None, progress: bool, body: Callable[[str | Path], dd.DataFrame]
) -> dd.DataFrame:
    """``body(out)``; with ``out`` None, ``body`` of a new temporary directory, tied to the
    frame it returns (see the module docstring). With ``progress`` its path is printed on
    stderr."""
    if out is not None:
        return body(out)
    path = Path(tempfile.mkdtemp(prefix=PREFIX))
    if progress:
        print(f"temporary sweep directory: {path} (removed with the frame)", file=sys.stderr)
    try:
        frame = body(path)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    return frames.remove_with(frame, path)
