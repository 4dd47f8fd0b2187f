"""Load the real GMAT R2026a engine of this GMAT_ROOT, the way GMAT's own api/load_gmat.py does.

Usage (from any directory)::

    import sys; sys.path.insert(0, "<GMAT_ROOT>/api")
    from load_gmat import gmat

gmat-run does not use this file (it bootstraps gmatpy itself) but checks that it exists.
"""

import os
import sys

_BIN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bin")
_STARTUP = os.path.join(_BIN, "api_startup_file.txt")

if _BIN not in sys.path:
    sys.path.insert(1, _BIN)

import gmatpy as gmat  # noqa: E402

gmat.Setup(_STARTUP)

__all__ = ["gmat"]
