"""The GMAT script a sweep runs: its resolved path and canonical content hash."""

from __future__ import annotations

import hashlib
from pathlib import Path

from gmat_sweep_dask.errors import ScriptError


def resolve_script(path: str | Path) -> Path:
    """Return the absolute path of an existing, readable script file, or raise ScriptError."""
    script = Path(path).expanduser()
    if not script.is_file():
        raise ScriptError(f"script {str(path)!r} does not exist or is not a file")
    try:
        script.read_bytes()
    except OSError as exc:
        raise ScriptError(f"script {str(path)!r} cannot be read: {exc.strerror}") from exc
    return script.resolve()


def canonical_sha256(path: Path) -> str:
    """SHA-256 of the script text with line endings, a BOM and trailing newlines normalised.

    Two copies of a script that differ only in CRLF/LF endings, a UTF-8 BOM or trailing
    blank lines hash equal; any other edit (including comments) changes the hash.
    """
    text = path.read_bytes().decode("utf-8", errors="surrogateescape")
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    text = text.rstrip("\n") + "\n"
    return hashlib.sha256(text.encode("utf-8", errors="surrogateescape")).hexdigest()
