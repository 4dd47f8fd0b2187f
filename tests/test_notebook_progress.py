"""Progress in Jupyter: a sweep called from a notebook kernel shows a live display updated
in place (an ipywidgets bar when installed, else an HTML ``<progress>`` output), not a
line every 10 s on stderr. The kernel is faked: fake ``IPython`` (a kernel shell),
``IPython.display`` and ``ipywidgets`` modules in ``sys.modules``."""

from __future__ import annotations

import io
import sys
import types
from pathlib import Path

import pytest

from gmat_sweep_dask import sweep
from gmat_sweep_dask.execute.progress_display import (
    HtmlDisplay,
    LogDisplay,
    TerminalDisplay,
    WidgetDisplay,
    choose,
    in_notebook,
)


class KernelShell:
    """What ``get_ipython()`` returns in a Jupyter kernel: its config names IPKernelApp."""

    def __init__(self) -> None:
        self.config = {"IPKernelApp": {"connection_file": "kernel-1.json"}}


class TerminalShell:
    """A terminal IPython: no kernel app."""

    def __init__(self) -> None:
        self.config = {"TerminalIPythonApp": {}}


class Handle:
    def __init__(self, shown: list) -> None:
        self.shown = shown

    def update(self, obj: object) -> None:
        self.shown.append(obj)


class Widget:
    def __init__(self, **kwargs: object) -> None:
        self.__dict__.update(kwargs)
        self.history: list[tuple[object, ...]] = []

    def __setattr__(self, name: str, value: object) -> None:
        if name == "value" and "history" in self.__dict__:
            self.history.append(value)
        super().__setattr__(name, value)


@pytest.fixture
def kernel(monkeypatch: pytest.MonkeyPatch) -> types.SimpleNamespace:
    """A fake Jupyter kernel: IPython with a kernel shell and IPython.display; no
    ipywidgets (``sys.modules[...] = None`` makes its import fail)."""
    seen = types.SimpleNamespace(displayed=[], updates=[])
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: KernelShell()
    display = types.ModuleType("IPython.display")

    class HTML:
        def __init__(self, data: str) -> None:
            self.data = data

    def show(obj: object, display_id: bool = False) -> Handle | None:
        seen.displayed.append(obj)
        return Handle(seen.updates) if display_id else None

    display.HTML, display.display = HTML, show
    ipython.display = display
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    return seen


def test_outside_a_kernel_terminals_and_logs_keep_their_displays(monkeypatch) -> None:
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert not in_notebook()
    assert isinstance(choose(io.StringIO()), LogDisplay)
    terminal_ipython = types.ModuleType("IPython")
    terminal_ipython.get_ipython = lambda: TerminalShell()
    monkeypatch.setitem(sys.modules, "IPython", terminal_ipython)
    assert not in_notebook() and isinstance(choose(io.StringIO()), LogDisplay)


def test_a_kernel_gets_a_live_html_bar_without_ipywidgets(kernel) -> None:
    assert in_notebook()
    tty = io.StringIO()
    tty.isatty = lambda: True  # a terminal wins even in a kernel (e.g. a console frontend)
    assert isinstance(choose(tty), TerminalDisplay)
    display = choose(io.StringIO())
    assert isinstance(display, HtmlDisplay)
    display.show(3, 4, "3/4 runs: 3 ok")
    assert '<progress value="3" max="4"' in kernel.updates[-1].data
    assert "3/4 runs: 3 ok" in kernel.updates[-1].data


def test_a_kernel_with_ipywidgets_gets_a_widget_bar(kernel, monkeypatch) -> None:
    widgets = types.ModuleType("ipywidgets")
    widgets.IntProgress = Widget
    widgets.Label = Widget
    widgets.HBox = lambda children: ("HBox", children)
    monkeypatch.setitem(sys.modules, "ipywidgets", widgets)
    display = choose(io.StringIO())
    assert isinstance(display, WidgetDisplay)
    assert kernel.displayed[-1][0] == "HBox"
    display.show(2, 2, "2/2 runs: 2 ok")
    display.close()
    assert display.bar.value == 2 and display.bar.max == 2 and display.bar.bar_style == "success"
    assert display.label.value == "2/2 runs: 2 ok"


def test_a_sweep_in_a_notebook_updates_one_display_in_place(
    kernel, client, example_script: Path, tmp_path: Path, capsys
) -> None:
    grid = {"Sat.SMA": [7000, 7050, 7100], "Sat.ECC": [0.001, 0.01]}
    sweep(example_script, grid=grid, out=tmp_path / "nb", client=client)
    html = [u.data for u in kernel.updates]
    assert len(kernel.displayed) == 1 and html  # one output, updated in place
    assert '<progress value="6" max="6"' in html[-1] and "6/6 runs: 6 ok" in html[-1]
    assert "6/6 runs" not in capsys.readouterr().err  # not printed on stderr as well
