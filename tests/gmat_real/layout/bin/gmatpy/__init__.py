"""gmatpy for gmat-run: the real GMAT R2026a engine of PyPI gmatpy 0.2.0, built without SPICE.

Laid out by tests/gmat_real/build.sh (gmat-sweep-dask) as ``<cache>/<key>/root/bin/gmatpy``.
This package is only the door GMAT's classic layout has at ``<GMAT_ROOT>/bin/gmatpy``: it
puts the built wheel's ``gmatpy`` directory (``<cache>/<key>/site/gmatpy``, installed there
with ``pip install --target``) on its own ``__path__`` and re-exports the SWIG module
``gmatpy._native.gmat_py`` (``LoadScript``, ``GetObject``, ``RunScript``, ``Moderator``,
``UseLogFile``, the type enums, ...), so no install into the caller's environment is needed.

``Setup(path)`` ignores ``path``: the engine is initialised once per process by the wheel's
own ``_runtime.engine()`` (held under ``_runtime.lock``), which writes a startup file that
points at the data files the wheel ships, and which refuses to run in a process forked after
``gmatpy`` was imported ("GMAT cannot be used after fork"). Repeated ``Setup`` calls in one
process return at once.

The native module is built for one CPython minor version (the one that ran build.sh, recorded
in ``<cache>/<key>/engine.json``); any interpreter of that version can import it (the engine
needs no numpy nor any other package).
"""

import json as _json
import os as _os
import sys as _sys

_KEY_DIR = _os.path.dirname(
    _os.path.dirname(_os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))
)
with open(_os.path.join(_KEY_DIR, "engine.json"), encoding="utf-8") as _f:
    ENGINE_INFO = _json.load(_f)

_built_for = tuple(int(p) for p in ENGINE_INFO["python"].split("."))
if _sys.version_info[:2] != _built_for:
    raise ImportError(
        "this GMAT_ROOT's engine was built for Python {}, not {}.{}; run "
        "tests/gmat_real/build.sh with that Python (GMAT_REAL_PYTHON=...)".format(
            ENGINE_INFO["python"], *_sys.version_info[:2]
        )
    )

_WHEEL_PACKAGE = _os.path.join(_KEY_DIR, "site", "gmatpy")
if not _os.path.isfile(_os.path.join(_WHEEL_PACKAGE, "_runtime.py")):
    raise ImportError("built gmatpy wheel not found at " + _WHEEL_PACKAGE)
__path__.append(_WHEEL_PACKAGE)  # a package's __path__: submodules come from the wheel

from gmatpy import _runtime  # noqa: E402
from gmatpy._native.gmat_py import *  # noqa: E402,F403

__version__ = "R2026a"


def Setup(startup_file=None):
    """Initialise the engine once per process (``startup_file`` is ignored, see above)."""
    with _runtime.lock:
        return _runtime.engine()
