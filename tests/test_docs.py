"""The documentation stays true to the code: CLI flags, links and imports it shows exist.

(a) every ``--flag`` in a ``gmat-sweep-dask <command> ...`` command line of ``docs/*.md``
or ``README.md`` is an option of that command (per its ``--help``), and every command
named exists; (b) every relative Markdown link points at an existing file (and at an
existing heading, for ``#anchors`` into Markdown); (c) every ``from gmat_sweep_dask...
import X`` in a Python code block imports, and every Python block parses. The checkers
are tested on bad input too, so they can fail.
"""

from __future__ import annotations

import ast
import functools
import importlib
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from gmat_sweep_dask.cli import main

REPO = Path(__file__).resolve().parent.parent
DOCS = sorted((REPO / "docs").glob("*.md"))
PAGES = [*DOCS, REPO / "README.md"]

FENCE = re.compile(r"^(```+|~~~+)[ \t]*([\w+-]*)[^\n]*\n(.*?)^\1[ \t]*$", re.M | re.S)
INLINE = re.compile(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)
# a command starts the line/span or follows whitespace, a shell operator or a path
COMMAND = re.compile(r"(?:^|(?<=[\s$(;&|/]))gmat-sweep-dask[ \t]+(\S.*)$", re.M)
FLAG = re.compile(r"^(--?[A-Za-z][\w-]*)(=?)")
SHELL_BLOCKS = {"", "bash", "sh", "shell", "console", "zsh"}
COMMENT = re.compile(r"(?:^|(?<=\s))#.*$", re.M)
SEPARATORS = {";", "&", "&&", "|", "||", "(", ")"}
LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REF_LINK = re.compile(r"^\s{0,3}\[[^\]\n]+\]:\s*<?(\S+?)>?(?:\s.*)?$", re.M)


def _id(path: Path) -> str:
    return str(path.relative_to(REPO))


# -- extracting code from Markdown ---------------------------------------------------


def code_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced code block."""
    return [(m[2].lower(), m[3]) for m in FENCE.finditer(text)]


def without_code(text: str) -> str:
    """The text with fenced blocks and inline code spans blanked out."""
    text = FENCE.sub("", text)
    return INLINE.sub("", text)


def inline_spans(text: str) -> list[str]:
    """Contents of inline code spans outside fenced blocks."""
    return [m[2] for m in INLINE.finditer(FENCE.sub("", text))]


def command_lines(text: str) -> list[str]:
    """Every ``gmat-sweep-dask <command> ...`` invocation, continuation lines joined."""
    chunks = [COMMENT.sub("", body) for lang, body in code_blocks(text) if lang in SHELL_BLOCKS]
    chunks += inline_spans(text)
    found = []
    for chunk in chunks:
        joined = re.sub(r"\\[ \t]*\n", " ", chunk)
        found += [m[1].strip() for m in COMMAND.finditer(joined)]
    return found


def command_tokens(rest: str) -> list[str]:
    """Shell words of one invocation up to a separator; comments dropped."""
    lexer = shlex.shlex(rest, posix=True, punctuation_chars=";&|()")
    lexer.whitespace_split = True
    tokens = []
    try:
        for token in lexer:
            if token in SEPARATORS:
                break
            tokens.append(token)
    except ValueError as exc:  # unbalanced quotes: report, do not guess
        raise AssertionError(f"cannot split command line {rest!r}: {exc}") from None
    return tokens


# -- what the CLI offers, read from its --help ---------------------------------------


def _help(*args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0, result.output
    return result.output


def _section(text: str, title: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(title) + 1
    section = []
    for line in lines[start:]:
        if line and not line[0].isspace():
            break
        section.append(line)
    return section


def _options(help_text: str) -> dict[str, bool]:
    """Each option of a ``--help`` text, and whether it takes a value (has a metavar)."""
    flags: dict[str, bool] = {}
    for line in _section(help_text, "Options:"):
        stripped = line.strip()
        if stripped.startswith("-"):
            names = re.split(r"\s{2,}", stripped, maxsplit=1)[0]
            found = re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", names)
            rest = re.sub(r"(?<![\w-])--?[A-Za-z][\w-]*|[,/]", "", names).strip()
            flags.update(dict.fromkeys(found, bool(rest)))
    return flags


@functools.cache
def cli_options() -> dict[str, dict[str, bool]]:
    """Options per command name; the group's own options under the empty name."""
    top = _help()
    commands = [line.split()[0] for line in _section(top, "Commands:") if line.strip()]
    options = {name: _options(_help(name)) for name in commands}
    options[""] = _options(top)
    return options


def check_command(line: str) -> list[str]:
    """Problems with one ``gmat-sweep-dask ...`` invocation (empty when it is valid)."""
    options = cli_options()
    tokens = command_tokens(line)
    if not tokens or tokens[0].startswith("<"):  # a placeholder like <command>
        return []
    name, args = ("", tokens) if tokens[0].startswith("-") else (tokens[0], tokens[1:])
    if name not in options:
        return [f"unknown command {name!r} in `gmat-sweep-dask {line}`"]
    problems = []
    value_next = False
    for token in args:
        if value_next:  # the value of the previous option, even if it starts with '-'
            value_next = False
            continue
        match = FLAG.match(token)
        if not match:
            continue
        if match[1] not in options[name]:
            shown = f"gmat-sweep-dask {name}".strip()
            problems.append(f"{shown} has no option {match[1]} (in `gmat-sweep-dask {line}`)")
        else:
            value_next = options[name][match[1]] and not match[2]
    return problems


# -- links -----------------------------------------------------------------------------


def anchors(text: str) -> set[str]:
    """GitHub's anchors for the headings of a Markdown text."""
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", FENCE.sub("", text), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        unique, n = slug, 0
        while unique in found:
            n += 1
            unique = f"{slug}-{n}"
        found.add(unique)
    return found


def broken_links(page: Path, text: str) -> list[str]:
    """Relative link targets of ``text`` (a Markdown file at ``page``) that do not exist,
    or whose ``#anchor`` names no heading of the Markdown file they point at."""
    prose = without_code(text)
    targets = [m[1] for m in LINK.finditer(prose)] + [m[1] for m in REF_LINK.finditer(prose)]
    broken = []
    for target in targets:
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
            continue  # http:, https:, mailto: ...
        path, _, anchor = target.split("?", 1)[0].partition("#")
        file = page.parent / path
        if path and not file.exists():
            broken.append(target)
        elif anchor and (not path or file.suffix == ".md"):
            headings = anchors(file.read_text("utf-8") if path else text)
            if anchor not in headings:
                broken.append(target)
    return broken


# -- Python imports --------------------------------------------------------------------


def python_blocks(text: str) -> list[str]:
    return [body for lang, body in code_blocks(text) if lang in ("python", "py")]


def bad_imports(source: str) -> list[str]:
    """``gmat_sweep_dask`` imports in ``source`` that fail."""
    problems = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gmat_sweep_dask"):
            try:
                module = importlib.import_module(node.module)
            except ImportError as exc:
                problems.append(f"from {node.module} import ...: {exc}")
                continue
            for alias in node.names:
                if alias.name != "*" and not hasattr(module, alias.name):
                    problems.append(f"from {node.module} import {alias.name}: no such name")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("gmat_sweep_dask"):
                    try:
                        importlib.import_module(alias.name)
                    except ImportError as exc:
                        problems.append(f"import {alias.name}: {exc}")
    return problems


# -- the tests -------------------------------------------------------------------------


def test_docs_exist_and_index_links_every_page() -> None:
    assert REPO / "docs" / "index.md" in DOCS
    index = (REPO / "docs" / "index.md").read_text(encoding="utf-8")
    linked = {m[1].split("#", 1)[0] for m in LINK.finditer(without_code(index))}
    missing = [p.name for p in DOCS if p.name != "index.md" and p.name not in linked]
    assert not missing, f"docs/index.md does not link {missing}"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "docs/index.md" in {m[1] for m in LINK.finditer(without_code(readme))}


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_cli_commands_and_flags_exist(page: Path) -> None:
    problems = [p for line in command_lines(page.read_text("utf-8")) for p in check_command(line)]
    assert not problems, "\n".join(problems)


def test_docs_show_every_command() -> None:
    shown = {
        command_tokens(line)[0]
        for page in PAGES
        for line in command_lines(page.read_text("utf-8"))
        if command_tokens(line)
    }
    missing = sorted(set(cli_options()) - {""} - shown)
    assert not missing, f"no command line in the docs uses {missing}"


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_relative_links_resolve(page: Path) -> None:
    broken = broken_links(page, page.read_text("utf-8"))
    assert not broken, f"{_id(page)}: broken links {broken}"


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_python_blocks_parse_and_imports_exist(page: Path) -> None:
    problems = []
    for number, block in enumerate(python_blocks(page.read_text("utf-8")), start=1):
        try:
            problems += [f"block {number}: {p}" for p in bad_imports(block)]
        except SyntaxError as exc:
            problems.append(f"block {number}: not valid Python: {exc}")
    assert not problems, f"{_id(page)}:\n" + "\n".join(problems)


# -- the checkers catch what they should -----------------------------------------------


def test_checkers_fail_on_bad_input(tmp_path: Path) -> None:
    text = (
        "```bash\n"
        "gmat-sweep-dask run leo.script --grid 'Sat.SMA=1,2' \\\n"
        "    --out runs/x --bogus-flag 3   # a comment --ignored\n"
        "gmat-sweep-dask frobnicate runs/x\n"
        "```\n"
        "Then `gmat-sweep-dask show runs/x --failed --nope`.\n"
        "A [good](ok.md), a [bad](missing.md#part) and a [web](https://example.org) link.\n"
        "## The `--grid` grammar\n[here](#the---grid-grammar), [there](#nowhere), "
        "[ok](ok.md#the-top), [no](ok.md#no-such-heading).\n"
        "```python\nfrom gmat_sweep_dask import sweep, not_a_thing\n"
        "from gmat_sweep_dask.nowhere import x\n```\n"
    )
    problems = [p for line in command_lines(text) for p in check_command(line)]
    flagged = {m[1] for p in problems for m in [re.search(r"has no option (\S+)", p)] if m}
    assert flagged == {"--bogus-flag", "--nope"}, problems
    assert any("unknown command 'frobnicate'" in p for p in problems), problems
    assert len(problems) == 3, problems
    (tmp_path / "ok.md").write_text("# The top\n")
    assert broken_links(tmp_path / "page.md", text) == [
        "missing.md#part",
        "#nowhere",
        "ok.md#no-such-heading",
    ]
    imports = bad_imports(python_blocks(text)[0])
    assert len(imports) == 2 and "not_a_thing" in imports[0] and "nowhere" in imports[1]
    assert check_command("--version") == [] and check_command("<command> --help") == []


def test_examples_in_every_commands_help_use_real_flags() -> None:
    problems = []
    for command in sorted(name for name in cli_options() if name):
        lines = command_lines("```bash\n" + _help(command) + "\n```\n")
        assert lines, f"`gmat-sweep-dask {command} --help` shows no example"
        problems += [f"{command} --help: {p}" for line in lines for p in check_command(line)]
    assert not problems, "\n".join(problems)
