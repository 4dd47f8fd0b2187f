"""Plots from lazy frames: band plot over time, parameter scatter and heatmap (Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dask
import numpy as np
import pytest
from test_frames import Reads, RunOutputs, build_sweep, report
from test_statistics import GRID, varied_run

from gmat_sweep_dask import bands, open_sweep, per_run
from gmat_sweep_dask.analysis.plotting import band_plot, label, param_plot

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(scope="module")
def varied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sweep(tmp_path_factory.mktemp("plots") / "s", GRID, varied_run, batch=3)


@pytest.fixture(autouse=True)
def close_figures() -> Any:
    yield
    plt.close("all")


def saved(ax: Any, path: Path) -> np.ndarray:
    """Save the axes' figure as PNG and return its pixels, checking it is not blank."""
    ax.figure.savefig(path, dpi=60)
    assert path.stat().st_size > 5_000
    pixels = mpimg.imread(path)
    assert pixels.std() > 0.05 and len(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)) > 50
    return pixels


def test_band_plot_draws_quantile_bands_with_units(varied: Path, tmp_path: Path) -> None:
    frame = open_sweep(varied)
    lazy = bands(frame, ["Sat.X"], q=(0.05, 0.25, 0.5, 0.75, 0.95))
    ax = band_plot(lazy, "Sat.X")
    assert ax.get_ylabel() == "Sat.X [km]" and ax.get_xlabel() == "time (UTC)"
    assert len(ax.collections) == 2 and len(ax.lines) == 1
    saved(ax, tmp_path / "band.png")
    computed = band_plot(lazy.compute(), "Sat.X", time_scale="UTC")
    assert computed.get_xlabel() == "time (UTC)"
    elapsed = bands(frame, ["Sat.VX"], by="elapsed", step=30.0).compute()
    ax = band_plot(elapsed, "Sat.VX")
    assert ax.get_ylabel() == "Sat.VX [km/s]" and ax.get_xlabel() == "elapsed [s]"
    saved(ax, tmp_path / "elapsed.png")


def test_param_scatter_reads_only_the_metric_column(varied: Path, tmp_path, monkeypatch) -> None:
    frame = open_sweep(varied)
    reads = Reads(monkeypatch)
    with dask.config.set(scheduler="sync"):
        ax = param_plot(frame, "Sat.SMA", metric="Sat.X:max")
    assert {c for _, _, cols in reads.calls for c in cols} == {"run_id", "time", "Sat.X"}
    assert ax.get_xlabel() == "Sat.SMA [km]" and ax.get_ylabel() == "Sat.X:max [km]"
    x, y = ax.lines[0].get_data()
    assert len(x) == 9 and np.isfinite(y).all()  # 12 runs: two failed, one without rows
    assert "9 of 12 runs" in ax.get_title()
    saved(ax, tmp_path / "scatter.png")


def test_param_heatmap_over_a_full_grid_and_scatter_otherwise(tmp_path: Path) -> None:
    def make(run_id: int, params: dict[str, Any]) -> RunOutputs:
        altitude = params["Sat.SMA"] * (1 - params["Sat.ECC"]) - 6378.0 + np.arange(4.0)
        return {("report", "R"): report(4, **{"Sat.Earth.Altitude": altitude})}

    grid = {"Sat.SMA": [7000.0, 7200.0, 7400.0, 7600.0], "Sat.ECC": [0.0, 0.01, 0.02]}
    out = build_sweep(tmp_path / "s", grid, make)
    runs = per_run(open_sweep(out), ["Sat.Earth.Altitude"], how=("min",))
    ax = param_plot(runs, "Sat.SMA", "Sat.ECC", metric="Sat.Earth.Altitude:min")
    mesh = ax.collections[0]
    assert type(mesh).__name__ == "QuadMesh" and mesh.get_array().shape == (3, 4)
    assert ax.figure.axes[1].get_ylabel() == "Sat.Earth.Altitude:min [km]"
    saved(ax, tmp_path / "heat.png")
    scatter = param_plot(
        open_sweep(tmp_path / "s").loc[0:9], "Sat.SMA", "Sat.ECC", metric="Sat.Earth.Altitude:max"
    )
    assert type(scatter.collections[0]).__name__ == "PathCollection"


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ("Sat.EarthMJ2000Eq.X", "Sat.EarthMJ2000Eq.X [km]"),
        ("Sat.Earth.VMAG:q0.5", "Sat.Earth.VMAG:q0.5 [km/s]"),
        ("param:Sat.ElapsedSecs", "param:Sat.ElapsedSecs [s]"),
        ("Duration.Value", "Duration.Value [s]"),
        ("Sat.Earth.ECC", "Sat.Earth.ECC"),
    ],
)
def test_labels_carry_units_where_known(column: str, expected: str) -> None:
    assert label(column) == expected
