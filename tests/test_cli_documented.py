"""Every user-facing command and option of the CLI is documented: the click command tree
is walked, and each command must appear as ``gmat-sweep-dask <command>`` and each option
name (``--flag``) as a whole word in README.md or a page of docs/ it links."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from gmat_sweep_dask.cli import main

REPO = Path(__file__).resolve().parent.parent
LINKED = re.compile(r"\]\((docs/[\w.-]+\.md)(?:#[^)]*)?\)")


def documentation() -> str:
    """README.md and every docs/ page it links to, directly or through docs/index.md."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    pages = {REPO / link for link in LINKED.findall(readme)}
    index = REPO / "docs" / "index.md"
    if index in pages:
        pages |= {
            index.parent / name for name in re.findall(r"\]\(([\w.-]+\.md)", index.read_text())
        }
    return "\n".join(
        [readme, *(p.read_text(encoding="utf-8") for p in sorted(pages) if p.is_file())]
    )


def commands(group: click.Group) -> list[tuple[str, click.Command]]:
    """``(path, command)`` for every command under ``group``, nested groups included."""
    found = []
    for name, command in sorted(group.commands.items()):
        found.append((name, command))
        if isinstance(command, click.Group):
            found += [(f"{name} {sub}", c) for sub, c in commands(command)]
    return found


def option_names(command: click.Command) -> list[str]:
    """The long option names of ``command`` (``--help`` aside)."""
    names = []
    for param in command.params:
        if isinstance(param, click.Option):
            names += [n for n in (*param.opts, *param.secondary_opts) if n.startswith("--")]
    return [n for n in names if n != "--help"]


def documented(word: str, text: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


COMMANDS = commands(main)


def test_the_tree_is_walked() -> None:
    names = [name for name, _ in COMMANDS]
    assert {"run", "resume", "show", "compact", "check", "monte-carlo", "extend"} <= set(names)
    assert "--where" in option_names(dict(COMMANDS)["show"])


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_command_and_option_is_documented(name: str, command: click.Command) -> None:
    text = documentation()
    assert documented(f"gmat-sweep-dask {name}", text), f"command {name!r} is not documented"
    missing = [option for option in option_names(command) if not documented(option, text)]
    assert not missing, f"{name}: options not in README.md or the docs it links: {missing}"


def test_the_group_s_own_options_are_documented() -> None:
    text = documentation()
    assert [o for o in option_names(main) if not documented(o, text)] == []


def test_the_check_fails_for_an_undocumented_option() -> None:
    assert not documented("--no-such-option", documentation())
    assert not documented("--n", "use --no-isolate")  # a prefix is not the option
