"""Where the progress line is drawn: a terminal, a Jupyter notebook, or a log.

:func:`choose` decides once per sweep. A terminal (the stream is a TTY) gets the line
redrawn in place with a bar; a Jupyter kernel (IPython loaded and running a kernel, the
stream not a TTY) gets a live display updated in place: an ``ipywidgets`` progress bar
when ipywidgets is installed, else an HTML ``<progress>`` through
``IPython.display.display(..., display_id=True)``; anything else (a log file, a batch
job's output) gets one line every ~10 s and the final one.
"""

from __future__ import annotations

import html
import sys
from typing import Any, Protocol, TextIO

BAR_WIDTH = 24


class Display(Protocol):
    """Something that shows the progress line."""

    interval: float
    """Seconds between redraws at most."""

    def show(self, done: int, total: int, line: str) -> None: ...

    def close(self) -> None: ...


class TerminalDisplay:
    """The line redrawn in place, behind a ``[####....]`` bar."""

    interval = 0.2

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def show(self, done: int, total: int, line: str) -> None:
        filled = int(BAR_WIDTH * done / total) if total else BAR_WIDTH
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        self.stream.write(f"\r[{bar}] {line}\033[K")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


class LogDisplay:
    """One line every ~10 s (and the final one): for logs and batch-job output."""

    interval = 10.0

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def show(self, done: int, total: int, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


class WidgetDisplay:
    """An ipywidgets progress bar with the line beside it, updated in place."""

    interval = 0.5

    def __init__(self, widgets: Any, display: Any) -> None:
        self.bar = widgets.IntProgress(min=0, max=1, value=0, description="runs")
        self.label = widgets.Label(value="")
        display(widgets.HBox([self.bar, self.label]))

    def show(self, done: int, total: int, line: str) -> None:
        self.bar.max, self.bar.value, self.label.value = max(total, 1), done, line

    def close(self) -> None:
        self.bar.bar_style = "success" if self.bar.value >= self.bar.max else "warning"


class HtmlDisplay:
    """An HTML ``<progress>`` bar and the line, in one output updated in place."""

    interval = 0.5

    def __init__(self, ipython_display: Any) -> None:
        self._html = ipython_display.HTML
        self.handle = ipython_display.display(self._html(""), display_id=True)

    def show(self, done: int, total: int, line: str) -> None:
        self.handle.update(
            self._html(
                f'<progress value="{done}" max="{max(total, 1)}" style="width: 16em"></progress>'
                f" <code>{html.escape(line)}</code>"
            )
        )

    def close(self) -> None:
        """Nothing to end: the output keeps its last state."""


def choose(stream: TextIO | None = None) -> Display:
    """The display for ``stream`` (default: stderr) in the environment running now."""
    stream = stream or sys.stderr
    if _isatty(stream):
        return TerminalDisplay(stream)
    if in_notebook():
        ipython_display = sys.modules.get("IPython.display")
        if ipython_display is None:
            import IPython.display as ipython_display
        try:
            import ipywidgets
        except ImportError:
            return HtmlDisplay(ipython_display)
        return WidgetDisplay(ipywidgets, ipython_display.display)
    return LogDisplay(stream)


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (IPython loaded, running a kernel app).

    IPython is never imported here: a kernel has it loaded already.
    """
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if callable(get_ipython) else None
    if shell is None:
        return False
    config = getattr(shell, "config", None) or {}
    return "IPKernelApp" in config or type(shell).__name__ == "ZMQInteractiveShell"


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False
