"""What every ``gmat-sweep-dask.*`` setting means, read from ``gmat-sweep-dask.yaml``.

The comments above each key of the packaged YAML are the one description of that
setting. The CLI help, the docstrings of the public functions taking the setting (spliced
in, as dask-jobqueue splices its parameter text into each cluster class) and the tables of
``docs/configuration.md`` and ``README.md`` all take their text from here; after editing
the YAML, regenerate the Markdown with::

    python -m gmat_sweep_dask.options README.md docs/configuration.md

A comment line ``Per sweep: `--flag`, `name=`.`` names the command-line option and the
``sweep()`` argument that override the setting for one sweep. This module reads the YAML
as text (no yaml or dask import), so ``gmat-sweep-dask --help`` stays fast.
"""

from __future__ import annotations

import functools
import re
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

YAML = Path(__file__).with_name("gmat-sweep-dask.yaml")
NAMESPACE = "gmat-sweep-dask"
PER_SWEEP = "Per sweep:"
SETTINGS = "{settings}"
BEGIN = "<!-- options"
END = "<!-- end of options -->"
_REGION = re.compile(
    r"^(<!-- options (table|summary)\b.*?-->\n).*?^(<!-- end of options -->)$", re.M | re.S
)
_KEY = re.compile(r"^  ([a-z][\w-]*):\s*(.*?)\s*$")
_COMMENT = re.compile(r"^  #\s?(.*)$")
_F = TypeVar("_F", bound=Callable[..., object])


@dataclass(frozen=True)
class Option:
    """One setting: its key, its default as written in the YAML, and what it means."""

    key: str
    default: str
    text: str
    per_sweep: tuple[str, ...]

    def help(self) -> str:
        """Plain text for a command-line option's help: meaning, then the default."""
        return f"{self.text.replace('`', '')} Default: {self.default} ({NAMESPACE}.{self.key})."


@functools.cache
def options() -> dict[str, Option]:
    """Every key of the packaged YAML with its documentation, in file order."""
    return parse(YAML.read_text(encoding="utf-8"), str(YAML))


def parse(yaml_text: str, name: str = "<yaml>") -> dict[str, Option]:
    """The keys of a settings YAML with the comment lines above each, in order.

    Raises:
        ValueError: a key has no comment above it, or the text is not one flat mapping
            under ``gmat-sweep-dask:`` of comments and keys (``name`` names it).
    """
    lines = yaml_text.splitlines()
    if not lines or lines[0] != f"{NAMESPACE}:":
        raise ValueError(f"{name}: expected its first line to be {NAMESPACE}:")
    found: dict[str, Option] = {}
    comment: list[str] = []
    for number, line in enumerate(lines[1:], start=2):
        if match := _COMMENT.match(line):
            comment.append(match[1])
        elif match := _KEY.match(line):
            if not comment:
                raise ValueError(f"{name}:{number}: {match[1]} has no comment saying what it does")
            text = [c for c in comment if not c.startswith(PER_SWEEP)]
            flags = [c.removeprefix(PER_SWEEP) for c in comment if c.startswith(PER_SWEEP)]
            per_sweep = tuple(re.findall(r"`([^`]+)`", " ".join(flags)))
            found[match[1]] = Option(match[1], match[2], " ".join(text), per_sweep)
            comment = []
        elif line.strip():
            raise ValueError(f"{name}:{number}: expected a comment or a key, got {line!r}")
    return found


def help_text(key: str, prefix: str = "") -> str:
    """The CLI help of an option overriding ``key`` (``prefix`` says how, if needed)."""
    return prefix + options()[key].help()


def document(*keys: str) -> Callable[[_F], _F]:
    """Decorator replacing the line ``{settings}`` of a docstring by the settings ``keys``.

    Each is listed under its argument name (``keep-raw`` is ``keep_raw``) with its
    default; the text is the YAML's, with Markdown code spans as reST literals.

    Raises:
        ValueError: the docstring has no ``{settings}`` line.
    """

    def splice(function: _F) -> _F:
        doc = function.__doc__ or ""
        if SETTINGS not in doc:
            raise ValueError(f"{function.__qualname__}: docstring lacks a {SETTINGS} line")
        indent = doc[: doc.index(SETTINGS)].rsplit("\n", 1)[-1]
        lines = ["Settings (``None`` takes the configured value, default shown):", ""]
        for key in keys:
            option = options()[key]
            text = re.sub(r"`([^`]+)`", r"``\1``", option.text)
            item = f"* ``{key.replace('-', '_')}`` ({option.default}): {text}"
            lines += textwrap.wrap(item, 88 - len(indent), subsequent_indent="  ")
        spliced = "\n".join(indent + line if line else "" for line in lines)
        function.__doc__ = doc.replace(indent + SETTINGS, spliced)
        return function

    return splice


def markdown_table(*, summary: bool = False) -> str:
    """The settings as a Markdown table: key, default, meaning (its first sentence only
    with ``summary``), and the options overriding it per sweep."""
    rows = ["| Key | Default | Meaning | Per sweep |", "|---|---|---|---|"]
    for option in options().values():
        text = _first_sentence(option.text) if summary else option.text
        per_sweep = ", ".join(f"`{flag}`" for flag in option.per_sweep) or "—"
        rows.append(f"| `{option.key}` | `{option.default}` | {text} | {per_sweep} |")
    return "\n".join(rows)


def _first_sentence(text: str) -> str:
    match = re.match(r"(.*?[.!?])\s+(?=[A-Z`])", text)
    return match[1] if match else text


def regenerate(markdown: str) -> str:
    """``markdown`` with every generated options region rewritten from the YAML.

    A region starts with a line ``<!-- options table ... -->`` (or ``options summary``)
    and ends with ``<!-- end of options -->``.
    """
    return _REGION.sub(
        lambda m: m[1] + markdown_table(summary=m[2] == "summary") + "\n" + m[3], markdown
    )


def main(paths: list[str]) -> None:
    """Regenerate the options regions of each Markdown file of ``paths``, in place.

    Raises:
        ValueError: a file has no options region.
    """
    for path in map(Path, paths):
        text = path.read_text(encoding="utf-8")
        if not _REGION.search(text):
            raise ValueError(f"{path}: no region between {BEGIN}... and {END}")
        path.write_text(regenerate(text), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
