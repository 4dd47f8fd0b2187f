"""Corner plot, heatmap with non-ok cells marked, MC convergence: each rendered to a PNG
(Agg) and checked against the data it was drawn from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from test_frames import build_sweep
from test_statistics import GRID, varied_run

from gmat_sweep_dask import UsageError, convergence, open_sweep, per_run
from gmat_sweep_dask.analysis.plots_dispersion import (
    HEXBIN_ABOVE,
    convergence_plot,
    corner_plot,
    heatmap,
)

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PathCollection, PolyCollection, QuadMesh  # noqa: E402


@pytest.fixture(scope="module")
def varied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 runs on a 4 x 3 grid: runs 4 and 9 failed, run 7 ok without rows."""
    return build_sweep(tmp_path_factory.mktemp("plots") / "s", GRID, varied_run, batch=3)


@pytest.fixture(autouse=True)
def close_figures() -> Any:
    yield
    plt.close("all")


def saved(figure: Any, path: Path) -> None:
    """Render to PNG and check it is a real, non-blank picture."""
    figure.savefig(path, dpi=60)
    pixels = mpimg.imread(path)
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert len(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)) > 50


def ok_values(out: Path, columns: list[str]) -> pd.DataFrame:
    runs = per_run(open_sweep(out), ["Sat.X", "Sat.VX"], how=("last", "max")).compute()
    return runs[runs["status"] == "ok"][columns].dropna()


def test_corner_plot_draws_every_ok_run_in_every_panel(varied: Path, tmp_path: Path) -> None:
    columns = ["Sat.SMA", "Sat.X:last", "Sat.VX:max"]
    figure = corner_plot(open_sweep(varied), columns, bins=5)
    saved(figure, tmp_path / "corner.png")
    data = ok_values(varied, columns)
    assert len(data) == 9  # 12 runs, two failed, one without rows
    assert len(figure.axes) == 6  # the lower triangle and the diagonal
    grid = {(ax.get_subplotspec().rowspan.start, ax.get_subplotspec().colspan.start): ax
            for ax in figure.axes}  # fmt: skip
    for (i, j), ax in grid.items():
        assert j <= i
        if i == j:
            heights = [patch.get_height() for patch in ax.patches]
            assert len(heights) == 5 and sum(heights) == len(data)
        else:
            (points,) = [c for c in ax.collections if isinstance(c, PathCollection)]
            expected = data[[columns[j], columns[i]]].to_numpy()
            np.testing.assert_allclose(points.get_offsets(), expected)
    assert grid[(2, 0)].get_xlabel() == "Sat.SMA [km]" and grid[(2, 0)].get_ylabel() == (
        "Sat.VX:max [km/s]"
    )
    assert figure._suptitle.get_text() == "9 of 12 runs"


def test_corner_plot_bins_above_2000_runs(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n = HEXBIN_ABOVE + 500
    runs = pd.DataFrame(
        {"status": ["ok"] * n, "a": rng.normal(size=n), "b": rng.normal(size=n)},
        index=pd.RangeIndex(n, name="run_id"),
    )
    runs.loc[7, "status"] = "failed"
    figure = corner_plot(runs, ["a", "b"], gridsize=15)
    saved(figure, tmp_path / "hexbin.png")
    (pair,) = [ax for ax in figure.axes if ax.get_subplotspec().rowspan.start == 1
               and ax.get_subplotspec().colspan.start == 0]  # fmt: skip
    (bins,) = [c for c in pair.collections if isinstance(c, PolyCollection)]
    assert bins.get_array().sum() == n - 1 and len(bins.get_array()) > 50
    assert "hexagonal bins" in figure._suptitle.get_text()
    small = corner_plot(runs.iloc[:HEXBIN_ABOVE], ["a", "b"])
    assert any(isinstance(c, PathCollection) for ax in small.axes for c in ax.collections)


def test_heatmap_marks_the_cells_of_failed_runs(varied: Path, tmp_path: Path) -> None:
    ax = heatmap(open_sweep(varied), "Sat.SMA", "Sat.ECC", "Sat.X:max")
    saved(ax.figure, tmp_path / "heat.png")
    mesh, grey = [c for c in ax.collections if isinstance(c, QuadMesh)]
    values = mesh.get_array()
    assert values.shape == (3, 4)  # Sat.ECC rows, Sat.SMA columns
    runs = per_run(open_sweep(varied), ["Sat.X"], how=("max",)).compute()
    for run_id, run in runs.iterrows():
        row = GRID["Sat.ECC"].index(run["Sat.ECC"])
        col = GRID["Sat.SMA"].index(run["Sat.SMA"])
        if run["status"] == "ok" and not np.isnan(run["Sat.X:max"]):
            assert values[row, col] == run["Sat.X:max"]
        else:
            assert values.mask[row, col], run_id
    assert int((~grey.get_array().mask).sum()) == 2  # runs 4 and 9
    (crosses,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    centres = {(round(x), round(y, 3)) for x, y in crosses.get_offsets()}
    failed = runs[runs["status"] != "ok"]
    assert centres == {(round(r["Sat.SMA"]), round(r["Sat.ECC"], 3)) for _, r in failed.iterrows()}
    assert ax.get_legend().get_texts()[0].get_text() == "not ok (2 cells)"
    assert ax.get_xlabel() == "Sat.SMA [km]" and ax.get_title() == "Sat.X:max"


def test_heatmap_of_an_uneven_axis_has_one_cell_per_value(tmp_path: Path) -> None:
    runs = pd.DataFrame(
        {
            "status": ["ok", "ok", "failed", "ok", "ok", "ok"],
            "a": [1.0, 2.0, 5.0, 1.0, 2.0, 5.0],
            "b": ["x", "x", "x", "y", "y", "y"],
            "m": [1.0, 2.0, np.nan, 4.0, 5.0, 6.0],
        }
    )
    ax = heatmap(runs, "a", "b", "m")
    saved(ax.figure, tmp_path / "uneven.png")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "5"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["x", "y"]
    values = next(c for c in ax.collections if isinstance(c, QuadMesh)).get_array()
    assert values.tolist() == [[1.0, 2.0, None], [4.0, 5.0, 6.0]]
    (crosses,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert crosses.get_offsets().tolist() == [[2.0, 0.0]]  # the third cell of row x


def test_convergence_plot_is_the_running_mean_with_one_standard_error(
    varied: Path, tmp_path: Path
) -> None:
    conv = convergence(open_sweep(varied), "Sat.X")
    ax = convergence_plot(conv, metric="Sat.X")
    saved(ax.figure, tmp_path / "conv.png")
    table = conv.compute()
    (line,) = ax.lines
    np.testing.assert_array_equal(line.get_xdata(), table["n"])
    np.testing.assert_allclose(line.get_ydata(), table["running_mean"])
    (band,) = ax.collections
    upper = band.get_paths()[0].vertices[:, 1]
    ok = table.dropna()  # the band starts where an SE exists (n >= 2)
    assert upper.max() == pytest.approx((ok["running_mean"] + ok["se_mean"]).max())
    assert upper.min() == pytest.approx((ok["running_mean"] - ok["se_mean"]).min())
    last = table.iloc[-1]
    assert ax.get_title().startswith(f"Sat.X: {last['running_mean']:.6g} ± ")
    assert ax.get_title().endswith(f"after {len(table)} runs")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda f: corner_plot(f, ["Sat.X:last"]), "two or more columns"),
        (lambda f: corner_plot(f, ["Sat.X:last", "Sat.Y:last"], kind="kde"), "kind='kde'"),
        (lambda f: corner_plot(f, ["Sat.Q:last", "Sat.X:last"]), r"\['Sat.Q:last'\]"),
        (lambda f: heatmap(f, "Sat.SMA", "Sat.ECC", "Sat.Q:max"), "Sat.Q:max"),
        (lambda f: convergence_plot(f), "result of convergence"),
    ],
)
def test_bad_requests(varied: Path, call: Any, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        call(open_sweep(varied))
