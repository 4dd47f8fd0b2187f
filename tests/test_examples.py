"""The teaching examples in examples/ run end to end and print what they claim.

Each example runs as a subprocess on the GMAT stand-in engine into a temporary ``--out``
directory; the test checks the exit code, the PNGs it wrote and the ``key: value`` lines
it printed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gmat_standin import ROOT as STANDIN_ROOT
from PIL import Image

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
LINE = re.compile(r"^([a-z0-9_]+): (.*)$")


HEARTBEAT_AT_CLOSE = "Failed to communicate with scheduler during heartbeat."
_CHAINED = ("  ", "Traceback (", "The above exception", "During handling of the above")


def without_heartbeat_at_close(stderr: str) -> str:
    """``stderr`` less distributed's own shutdown race, not the example's: a worker's
    heartbeat in flight while its LocalCluster closes logs a (chained) traceback, seen
    under load at a ``with Client(...)`` exit. Any other traceback is kept."""
    kept, skipping = [], False
    for line in stderr.splitlines():
        if HEARTBEAT_AT_CLOSE in line:
            skipping = True
            continue
        if skipping and (not line or line.startswith(_CHAINED) or "Error" in line.split(":")[0]):
            continue
        skipping = False
        kept.append(line)
    return "\n".join(kept)


def run_example(
    name: str, out: Path, *args: str, gmat_root: bool = True, timeout: float = 240
) -> dict:
    """Run ``examples/<name> --out out *args``; return its ``key: value`` lines."""
    env = dict(os.environ)
    env.pop("GMAT_ROOT", None)
    if gmat_root:
        env["GMAT_ROOT"] = str(STANDIN_ROOT)
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=out.parent,
    )
    assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in without_heartbeat_at_close(result.stderr), result.stderr
    values: dict = {"stdout": result.stdout}
    for line in result.stdout.splitlines():
        match = LINE.match(line)
        if match:
            values.setdefault(match[1], match[2].strip())
    assert values["engine"].startswith("stand-in")
    return values


def check_png(path: Path, *, min_size: tuple[int, int] = (600, 400)) -> None:
    """A real PNG of a reasonable size that is not a blank canvas."""
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 20_000
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.size[0] >= min_size[0] and image.size[1] >= min_size[1]
        pixels = np.asarray(image.convert("RGB"))
    colours = np.unique(pixels.reshape(-1, 3), axis=0)
    assert len(colours) > 50, "the figure is nearly blank"


def test_sma_scan_plots_50_runs_and_says_it_uses_the_standin(tmp_path: Path) -> None:
    out = tmp_path / "sma"
    values = run_example("sma_scan.py", out, gmat_root=False)
    assert "GMAT STAND-IN engine" in values["stdout"]  # said plainly when GMAT_ROOT is unset
    assert values["runs"] == values["ok"] == "50"
    assert values["rows"] == str(50 * 101)
    assert (values["sma_min_km"], values["sma_max_km"]) == ("6800.0", "7600.0")
    assert 350 < float(values["altitude_min_km"]) < float(values["altitude_max_km"]) < 1300
    check_png(out / "altitude_vs_time.png")
    assert Path(values["png"]) == out / "altitude_vs_time.png"


def within_4_sigma_of_normal_coverage(fraction: float, p: float, n: int) -> bool:
    """Is the fraction of ``n`` points inside a region that holds ``p`` of a normal
    cloud no more than 4 binomial standard errors below ``p``?"""
    return fraction >= p - 4 * np.sqrt(p * (1 - p) / n)


def test_monte_carlo_dispersion_matches_its_distribution(tmp_path: Path) -> None:
    out = tmp_path / "mc"
    n = 200  # the example's default is 500; --runs keeps the test short
    values = run_example("monte_carlo_dispersion.py", out, "--runs", str(n))
    assert values["runs"] == values["ok"] == str(n)
    # drawn from normal(7000, 2): mean and SD each within 4 of their standard errors
    assert abs(float(values["sma_mean_km"]) - 7000.0) < 4 * 2.0 / np.sqrt(n)
    assert abs(float(values["sma_sd_km"]) - 2.0) < 4 * 2.0 / np.sqrt(2 * (n - 1))
    assert float(values["final_x_sd_km"]) > 0 and float(values["final_y_sd_km"]) > 0
    major, minor = (float(v) for v in values["ellipse_3sigma_semi_axes_km"].split(","))
    assert major > minor > 0
    inside = float(values["inside_3sigma_fraction"])  # 98.9% for a 2-D normal
    assert within_4_sigma_of_normal_coverage(inside, 0.9889, n)
    check_png(out / "final_position_dispersion.png")


@pytest.mark.slow
def test_surviving_a_kill_resumes_to_the_uninterrupted_frame(tmp_path: Path) -> None:
    out = tmp_path / "kill"
    # 200 runs (the example's stand-in default is 400): ~170 still to run on its one
    # worker when the SIGINT comes after 5 are recorded, seconds of margin under load
    values = run_example("surviving_a_kill.py", out, "--runs", "200")
    runs = int(values["runs"])
    assert runs == 200
    assert values["interrupted_exit_code"] == "130"
    assert "resume with: gmat-sweep-dask resume" in values["stdout"]
    ok, missing = int(values["recorded_ok"]), int(values["missing"])
    assert ok >= 5 and missing > 0 and ok + missing == runs
    assert re.search(rf"^status: +{ok} ok, {missing} missing$", values["stdout"], re.M)
    assert int(values["partial_runs"]) == ok
    assert int(values["partial_rows"]) == ok * 101
    assert values["partial_runs_intact"] == "True"
    ran, recovered = int(values["resume_ran"]), int(values["recovered_without_rerun"])
    assert ran + recovered == missing and recovered >= 0
    assert values["resumed_ok"] == values["resumed_runs"] == str(runs)
    assert values["resumed_rows"] == values["clean_rows"] == str(runs * 101)
    assert values["one_row_per_run_and_time"] == "True"
    assert values["frames_equal"] == "True"


def slurm_answers() -> bool:
    """The example's own test: does ``sinfo`` answer in this environment?"""
    if shutil.which("sinfo") is None:
        return False
    probe = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True)
    return probe.returncode == 0 and bool(probe.stdout.strip())


@pytest.mark.slow
def test_cluster_recipe_uses_slurm_only_when_asked(tmp_path: Path) -> None:
    values = run_example("cluster_recipe.py", tmp_path / "cluster", timeout=290)
    assert values["local_runs"] == "20" and values["local_workers"] == "2"
    assert values["slurm"] == "skipped"  # even where a SLURM answers
    assert "--slurm" in values["slurm_skip_reason"]
    assert "frames_equal" not in values
    assert not (tmp_path / "cluster" / "slurm").exists()


@pytest.mark.slow
@pytest.mark.slurm
def test_cluster_recipe_local_and_slurm_frames_are_equal(tmp_path: Path) -> None:
    if not slurm_answers():  # tests/run.sh starts a private SLURM and sets SLURM_CONF
        pytest.skip("no SLURM answers (run tests/cluster/slurm-up.sh, as tests/run.sh does)")
    values = run_example("cluster_recipe.py", tmp_path / "cluster", "--slurm", timeout=290)
    assert values["local_runs"] == "20" and values["local_workers"] == "2"
    assert values["slurm"] == "ran", values["stdout"]
    assert values["slurm_runs"] == "20"
    assert values["slurm_runs_on_slurm_workers"] == "True"
    assert values["frames_equal"] == "True"


@pytest.mark.slow
def test_large_sweep_bands(tmp_path: Path) -> None:
    out = tmp_path / "bands"
    values = run_example("large_sweep_bands.py", out, "--runs", "300")  # the default: 1500
    assert values["runs"] == "300"
    assert values["band_shape"] == "101 x 7"  # 101 time steps; 5 quantiles, mean, count
    assert values["band_runs_per_step_min"] == "300"
    assert int(values["frame_partitions"]) >= 1
    assert int(values["row_groups"]) >= int(values["parquet_files"]) >= 1
    assert 500 < float(values["altitude_median_km_first_step"]) < 700
    assert 0 < float(values["altitude_90pct_width_km_max"]) < 300
    check_png(out / "bands.png")


def test_dispersion_report_statistics_ellipsoid_and_violation(tmp_path: Path) -> None:
    out = tmp_path / "dispersion"
    n = 200  # the example's default is 400
    values = run_example("dispersion_report.py", out, "--runs", str(n))
    assert values["runs"] == values["used"] == str(n)
    assert abs(float(values["mean_x_km"]) - float(values["state_x_mean_km"])) < 1e-6
    axes = [float(v) for v in values["semi_axes_3sigma_km"].split(",")]
    assert axes == sorted(axes, reverse=True) and axes[-1] > 0
    direction = np.array([float(v) for v in values["major_axis_direction"].split(",")])
    assert abs(np.linalg.norm(direction) - 1) < 1e-3
    assert float(values["normal_probability_inside"]) == pytest.approx(0.9707, abs=1e-4)
    inside = float(values["inside_3sigma_fraction"])
    assert within_4_sigma_of_normal_coverage(inside, 0.9707, n)
    violated, counted = int(values["violated"]), int(values["counted"])
    assert counted == n and 0 < violated < counted
    p = float(values["p_violation"])
    assert p == pytest.approx(violated / counted, abs=1e-4)
    for key in ("wilson_95", "clopper_pearson_95"):
        low, high = (float(v) for v in values[key].split(","))
        # a 95% interval is about 2 x 1.96 x sqrt(p(1 - p)/n) wide: 1.96/sqrt(n) at most
        assert low < p < high and high - low < 1.1 * 1.96 / np.sqrt(n)


def test_compare_sweeps_finds_the_changed_inclination(tmp_path: Path) -> None:
    values = run_example("compare_sweeps.py", tmp_path / "compare")
    assert values["runs_compared"] == "12"
    assert values["rows_compared"] == values["rows_in_both"] == str(12 * 101)
    assert values["status_changes"] == "0"
    assert 0.5 < float(values["max_abs_z_diff_km"]) < 1.3  # 0.01 deg at ~7000 km: <= 1.22 km
    identical, within_1km = int(values["rows_identical"]), int(values["rows_within_1km"])
    assert identical < within_1km < 12 * 101
    assert int(values["rows_within_custom"]) >= 12  # the first rows, before Z moves
    assert values["per_run_rows"] == "12"
    assert float(values["max_abs_min_altitude_diff_km"]) < 1e-6  # two-body: INC moves no altitude


def test_fused_reports_exact_and_asof(tmp_path: Path) -> None:
    values = run_example("fused_reports.py", tmp_path / "fused")
    assert values["orbit_rows"] == values["fused_rows"] == values["asof_rows"] == str(6 * 51)
    columns = values["fused_columns"].split(", ")
    assert {"Orbit/Sat.Earth.Altitude", "Ground/Sat.Earth.Altitude", "Sat.X"} <= set(columns)
    assert "Sat.Earth.Altitude" not in columns and columns[-3:] == ["status", "Sat.SMA", "Sat.ECC"]
    assert values["altitudes_agree"] == "True"
    assert values["eph_rows"] == str(6 * 26)
    assert values["asof_matched"] == str(6 * 51) and values["asof_max_lag_s"] == "60"
    assert float(values["same_epoch_max_x_gap_km"]) < 1e-6
    assert values["tight_matched"] == values["eph_rows"]  # only rows on an ephemeris epoch


def test_sensitivity_ranks_the_semi_major_axis_first(tmp_path: Path) -> None:
    # half the example's default design sizes (32 Sobol base samples, 12 Morris trajectories)
    sizes = ("--sobol-n", "16", "--morris-n", "6")
    values = run_example("sensitivity.py", tmp_path / "sensitivity", *sizes)
    ranking = "Sat.SMA, Sat.ECC, Sat.INC"
    assert values["sobol_runs"] == str(16 * 8) and values["sobol_ranking"] == ranking
    sma, sma_conf = float(values["sobol_st_sma"]), float(values["sobol_st_conf_sma"])
    ecc, ecc_conf = float(values["sobol_st_ecc"]), float(values["sobol_st_conf_ecc"])
    assert sma - sma_conf > ecc + ecc_conf and abs(float(values["sobol_st_inc"])) < 1e-6
    assert values["morris_runs_first"] == str(6 * 4) and values["morris_runs"] == str(12 * 4)
    assert values["morris_ranking_first"] == values["morris_ranking"] == ranking
    # an SMA step of half its 100 km range moves the minimum altitude by ~50 km;
    # Morris divides by the step on its grid (2/3), so mu_star is ~75 km
    assert 65 < float(values["morris_mu_star_sma_km"]) < 85
    assert 0 < float(values["morris_mu_star_ecc_km"]) < 10


def test_dispersion_plots_corner_convergence_and_heatmap(tmp_path: Path) -> None:
    out = tmp_path / "plots"
    values = run_example("dispersion_plots.py", out, "--runs", "80")  # the default: 240
    for key in ("corner_png", "convergence_png", "heatmap_png"):
        assert Path(values[key]).parent == out
        check_png(Path(values[key]))
    assert values["corner_panels"] == "10"  # 4 columns: 4 histograms and 6 pairs
    assert values["corner_points_per_panel"] == "80"
    assert values["convergence_runs"] == "80"
    assert 590 < float(values["altitude_min_mean_km"]) < 640  # perigee of ~7000 km, e~0.001
    assert 0 < float(values["altitude_min_se_km"]) < 2
    assert values["heatmap_failed_cells"] == "not ok (6 cells)"  # ECC 1.0 x 6 SMAs


def test_until_converged_stops_once_the_half_width_is_reached(tmp_path: Path) -> None:
    out = tmp_path / "until"
    # --half-width 0.5 km (the default: 0.25): a minimum altitude spread by ~2 km needs
    # (1.96 x 2 / 0.5)^2 ~ 62 runs, so it grows once past its first 50
    values = run_example("until_converged.py", out, "--half-width", "0.5")
    runs = int(values["runs"])
    assert values["converged"] == "True" and runs % 50 == 0 and 50 < runs < 1000
    assert float(values["half_width_km"]) <= 0.5
    assert values["frames_equal"] == "True"  # the plain Monte Carlo of the final size
    assert 590 < float(values["mean_km"]) < 640
    check_png(Path(values["png"]))


def test_quick_look_removes_its_temporary_sweep_with_the_last_frame(tmp_path: Path) -> None:
    values = run_example("quick_look.py", tmp_path / "quick")
    assert values["kept_while_derived_frame_lives"] == "True" and values["runs"] == "4"
    altitudes = [float(v) for v in values["final_altitudes_km"].split(", ")]
    assert altitudes == sorted(altitudes)  # higher SMA, higher altitude
    assert "gmat-sweep-dask-" in values["temporary_dir"] and values["removed"] == "True"
    assert not Path(values["temporary_dir"]).exists()


def test_archive_sweep_reopens_from_the_archive_alone(tmp_path: Path) -> None:
    values = run_example("archive_sweep.py", tmp_path / "archive")
    assert values["frames_equal"] == "True" and values["runs"] == "6"
    assert values["has_manifest"] == values["has_script"] == "True"
    assert Path(values["archive"]).is_file() and not (tmp_path / "archive" / "sweep").exists()


def test_targeting_sweep_converges_from_every_guess(tmp_path: Path) -> None:
    values = run_example("targeting_sweep.py", tmp_path / "targeting")
    assert values["runs"] == "9" and values["statuses"] == "converged"
    iterations = [int(n) for n in values["iterations"].split(", ")]
    assert iterations.index(min(iterations)) == 4  # the guess 1.0, nearest the solution
    assert iterations[:5] == sorted(iterations[:5], reverse=True)
    assert iterations[4:] == sorted(iterations[4:])
    low, high = (float(v) for v in values["first_burn_km_s"].split(".."))
    assert 0.9330 <= low <= high <= 0.9334  # the Hohmann transfer's first burn, 0.9332
    check_png(Path(values["png"]))


def test_run_sh_without_gmat_root_says_stand_in_and_how_to_build_a_gmat(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "GMAT_ROOT"}
    result = subprocess.run(
        ["bash", str(EXAMPLES / "run.sh")],
        env={**env, "OUT": str(tmp_path / "example")},
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "GMAT STAND-IN engine" in result.stdout
    assert 'eval "$(tests/gmat_real/build.sh | tail -n 1)"' in result.stdout
    assert "engine:   GMAT stand-in engine" in result.stdout and "status:   123 ok" in result.stdout


def test_postprocess_metrics_from_a_hook_agree_with_the_report(tmp_path: Path) -> None:
    values = run_example("postprocess_metrics.py", tmp_path / "metrics")
    assert values["runs"] == values["ok"] == values["files"] == "12"
    assert values["metrics_match_report"] == "True"
    assert values["context_recorded"] == "True"
    # periapsis altitude SMA(1-ECC) - 6378.1363 below 450 km: 7 of the 12 grid points
    assert values["below_limit"] == "7"


def test_list_overrides_pick_bodies_and_report_columns(tmp_path: Path) -> None:
    values = run_example("list_overrides.py", tmp_path / "lists")
    assert values["runs"] == values["ok"] == "4"
    assert values["runs_with_altitude"] == "2"  # the runs whose Orbit.Add lists it
    assert values["bodies"] == "{Earth, Luna, Sun}, {Earth}"
    assert values["recorded_run3"] == "['Earth', 'Luna', 'Sun']"
    assert values["third_body_shift_m"] == "0.000"  # the stand-in is two-body only
