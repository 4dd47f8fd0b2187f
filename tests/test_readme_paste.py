"""The README's quick starts work when pasted into a fresh shell after the set-up command.

The code blocks of the "Quick start" sections are extracted from README.md and run
exactly as written in a fresh temporary directory laid out like a checkout after
``bash examples/run.sh`` (its ``examples/`` and ``tests/``, and ``.venv``: the
environment running these tests), from a shell environment with nothing set up (no
``GMAT_ROOT``, no activated environment, only the system ``PATH``) whose standard input
is a terminal (a pseudo-terminal), as a shell's is. Both quick starts run in the same
directory, command line first, so they must not share an output directory. A bash block
whose last command starts ``python`` gets the Python block that follows it typed into
that terminal, as pasting it into the interactive Python does, then end-of-file (Ctrl-D).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from test_docs import code_blocks

REPO = Path(__file__).resolve().parent.parent
HEADING = re.compile(r"^## (.+)$", re.M)


def quick_starts(readme: str) -> dict[str, list[tuple[str, str]]]:
    """``{section title: [(language, body), ...]}`` for each ``## Quick start ...`` section."""
    sections = {}
    marks = list(HEADING.finditer(readme))
    for mark, after in zip(marks, [*marks[1:], None], strict=True):
        if mark[1].startswith("Quick start"):
            body = readme[mark.end() : after.start() if after else len(readme)]
            sections[mark[1]] = code_blocks(body)
    return sections


def scripts(blocks: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``(bash script, stdin)`` pairs: each bash block, with the Python block after it as
    its input when the block ends by starting ``python``."""
    runs = []
    for i, (language, body) in enumerate(blocks):
        if language == "python":
            continue
        assert language == "bash", f"a quick start block in {language!r}"
        last = [line for line in body.splitlines() if line.strip()][-1]
        stdin = ""
        if re.match(r"\s*python3?\b", last):
            assert blocks[i + 1][0] == "python", "a `python` line is followed by a Python block"
            stdin = blocks[i + 1][1]
        runs.append((body, stdin))
    return runs


def fresh_checkout(tmp_path: Path) -> Path:
    """A directory laid out like a checkout after the set-up command."""
    prefix = Path(sys.prefix)
    if not (prefix / "bin" / "activate").is_file():
        pytest.skip(f"the tests do not run in a virtual environment ({prefix} has no bin/activate)")
    checkout = tmp_path / "gmat-sweep-dask"
    checkout.mkdir()
    for name in ("examples", "tests"):
        (checkout / name).symlink_to(REPO / name)
    (checkout / ".venv").symlink_to(prefix)
    return checkout


def fresh_shell() -> dict[str, str]:
    """The environment of a new login shell: no GMAT_ROOT, no virtual environment."""
    keep = {k: os.environ[k] for k in ("HOME", "LANG", "TMPDIR", "SLURM_CONF") if k in os.environ}
    return {**keep, "PATH": "/usr/local/bin:/usr/bin:/bin", "SHELL": "/bin/bash"}


def paste(script: str, typed: str, cwd: Path) -> tuple[int, str]:
    """Run ``script`` in bash (``-e -o pipefail``) on a terminal; type ``typed`` into it,
    then end-of-file. Returns the exit code and everything written (stdout, stderr and
    the terminal's echo)."""
    master, slave = os.openpty()
    shell = subprocess.Popen(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=cwd,
        env=fresh_shell(),
    )
    os.close(slave)
    echoed: list[bytes] = []

    def drain() -> None:  # the terminal's echo of what is typed
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the shell is gone: the terminal closed
                return
            if not chunk:
                return
            echoed.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        for line in typed.splitlines():
            os.write(master, line.encode() + b"\n")
        os.write(master, b"\x04")  # Ctrl-D at the start of a line: end of input
        written, _ = shell.communicate(timeout=900)
    finally:
        shell.kill()
        os.close(master)
    reader.join(timeout=10)
    return shell.returncode, written.decode(errors="replace") + b"".join(echoed).decode(
        errors="replace"
    )


def test_the_quick_start_sections_are_found() -> None:
    sections = quick_starts((REPO / "README.md").read_text(encoding="utf-8"))
    assert list(sections) == ["Quick start (command line)", "Quick start (Python)"]
    cli, python = (scripts(blocks) for blocks in sections.values())
    assert len(cli) == 1 and cli[0][1] == ""
    assert len(python) == 1 and "sweep(" in python[0][1]


@pytest.mark.slow
def test_the_readme_quick_starts_work_when_pasted(tmp_path: Path) -> None:
    checkout = fresh_checkout(tmp_path)
    sections = quick_starts((REPO / "README.md").read_text(encoding="utf-8"))
    outputs = {}
    for title, blocks in sections.items():
        for script, stdin in scripts(blocks):
            code, written = paste(script, stdin, checkout)
            assert code == 0 and "Traceback" not in written, f"{title}:\n{written}"
            outputs[title] = written
    assert re.search(r"^40 runs: 40 ok; ran 40 in ", outputs["Quick start (command line)"], re.M)
    assert "nothing to run: all 40 runs are ok" in outputs["Quick start (command line)"]
    sweeps = sorted(p.parent.name for p in (checkout / "runs").glob("*/manifest.jsonl"))
    assert sweeps == ["quickstart-cli", "quickstart-py"]  # each quick start its own directory
    for name, runs in (("quickstart-cli", 40), ("quickstart-py", 6)):
        lines = (checkout / "runs" / name / "manifest.jsonl").read_text().splitlines()
        entries = [json.loads(line) for line in lines[1:]]
        statuses = [e["status"] for e in entries if "run_id" in e]
        assert statuses.count("ok") == runs and len(statuses) == runs
        assert json.loads(lines[0])["gmat"]["standin"] is True
    assert sorted(p.name for p in checkout.iterdir()) == [".venv", "examples", "runs", "tests"]
