"""The ``gmat-sweep-dask`` console script and ``python -m gmat_sweep_dask``.

Loading the command line takes a moment (click builds every command); a Ctrl-C meanwhile
ends the command as one at any later moment does: one line and exit code 130, not a
``KeyboardInterrupt`` traceback. Only the standard library is imported before that.
"""

from __future__ import annotations

import signal
import sys

from gmat_sweep_dask.wording import INTERRUPTED_EARLY


def main() -> None:
    """Load the command line and run it."""
    try:
        from gmat_sweep_dask.cli import main as command_line
    except KeyboardInterrupt:
        sys.stderr.write(INTERRUPTED_EARLY + "\n")
        sys.exit(128 + signal.SIGINT)
    command_line()
