"""Monte Carlo and Latin hypercube designs: determinism, statistics, extension, CLI."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import dask
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from gmat_sweep_dask import (
    Manifest,
    SpecError,
    Sweep,
    around,
    extend,
    latin_hypercube,
    monte_carlo,
    open_sweep,
)
from gmat_sweep_dask.cli import main
from gmat_sweep_dask.design import LatinHypercube, MonteCarlo, design_from_header
from gmat_sweep_dask.design.perturb_grammar import parse_perturb

PERTURB = {"Sat.SMA": ("normal", 7100.0, 50.0), "Sat.ECC": ("uniform", 0.0, 0.02)}


@settings(max_examples=50, deadline=None)
@given(
    n=st.integers(1, 400),
    cuts=st.lists(st.integers(0, 400), max_size=6),
    seed=st.integers(0, 2**63 - 1),
    lhs=st.booleans(),
)
def test_draws_do_not_depend_on_blocking_or_order(n, cuts, seed, lhs) -> None:
    design = (LatinHypercube if lhs else MonteCarlo)(PERTURB, n, seed)
    whole = design.block(0, n)
    bounds = sorted({0, n, *(c for c in cuts if c < n)})
    pieces = pd.concat([design.block(a, b) for a, b in itertools.pairwise(bounds)])
    pd.testing.assert_frame_equal(pieces, whole)
    ids = list(np.random.default_rng(seed % 1000).permutation(n))
    assert design.overrides(ids) == [whole.loc[i].to_dict() for i in ids]


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 300), more=st.integers(1, 300), seed=st.integers(0, 2**40))
def test_extension_equals_a_fresh_larger_design(n, more, seed) -> None:
    grown = MonteCarlo(PERTURB, n, seed).extended(more)
    pd.testing.assert_frame_equal(
        grown.block(0, n + more), MonteCarlo(PERTURB, n + more, seed).block(0, n + more)
    )


@pytest.mark.parametrize(
    ("spec", "mean", "sd"),
    [
        (("normal", 7100.0, 50.0), 7100.0, 50.0),
        (("uniform", 10.0, 20.0), 15.0, 10 / 12**0.5),
        (
            ("lognormal", 0.0, 0.25),
            float(np.exp(0.25**2 / 2)),
            float(np.sqrt((np.exp(0.25**2) - 1) * np.exp(0.25**2))),
        ),
        (stats.gamma(2.0, scale=3.0), 6.0, float(np.sqrt(2.0) * 3.0)),
    ],
)
def test_sample_moments_match_the_distribution(spec, mean, sd) -> None:
    values = MonteCarlo({"V.Value": spec}, 40_000, seed=7).block(0, 40_000)["V.Value"]
    assert abs(values.mean() - mean) < 4 * sd / 200
    assert abs(values.std() - sd) / sd < 0.03


def test_truncnormal_stays_in_bounds() -> None:
    values = MonteCarlo({"V.Value": ("truncnormal", 0.0, 1.0, -0.5, 2.0)}, 20_000, 3).block(
        0, 20_000
    )["V.Value"]
    assert values.between(-0.5, 2.0).all()
    expected = stats.truncnorm(-0.5, 2.0).mean()
    assert abs(values.mean() - expected) < 0.02


@given(n=st.integers(1, 500), seed=st.integers(0, 2**40))
@settings(max_examples=40, deadline=None)
def test_latin_hypercube_has_one_sample_per_stratum(n, seed) -> None:
    design = LatinHypercube({"A.X": ("uniform", 0.0, 1.0), "B.Y": ("uniform", 0.0, 1.0)}, n, seed)
    block = design.block(0, n)
    for column in block:
        strata = np.floor(block[column].to_numpy() * n).astype(int)
        assert sorted(strata) == list(range(n))


def test_header_round_trip_rebuilds_every_draw(tmp_path) -> None:
    design = MonteCarlo(
        {**PERTURB, "V.Value": stats.gamma(2.0), "Sat.INC": around(("normal", 0.0, 0.1))}, 50
    )
    design.resolve({"Sat.INC": 28.5})
    header = json.loads(json.dumps(design.header()))
    again = design_from_header(header, tmp_path)
    assert again.seed == design.seed and header["seed"] == design.seed
    pd.testing.assert_frame_equal(again.block(0, 50), design.block(0, 50))
    assert abs(design.block(0, 50)["Sat.INC"].mean() - 28.5) < 0.1


@pytest.mark.parametrize(
    ("perturb", "needle"),
    [
        ({"Sat.SMA": ("normal", 7000, 0)}, "sigma must be > 0"),
        ({"Sat.SMA": ("uniform", 2, 1)}, "hi > lo"),
        ({"Sat.SMA": ("normal", float("nan"), 1)}, "not finite"),
        ({"Sat.SMA": ("cauchy", 0, 1)}, "unknown distribution 'cauchy'"),
        ({"Sat.SMA": ("normal", 1)}, "takes 2 parameters"),
        ({"SMA": ("normal", 1, 1)}, "'SMA'"),
        ({}, "at least one field"),
    ],
)
def test_bad_perturbations_name_the_value(perturb, needle) -> None:
    with pytest.raises(SpecError, match=needle):
        MonteCarlo(perturb, 10)


def test_perturb_grammar() -> None:
    parsed = parse_perturb(["Sat.SMA=normal:7100:50", "Sat.INC=~uniform:-0.1:0.1"])
    assert parsed["Sat.SMA"] == ("normal", 7100.0, 50.0)
    assert MonteCarlo(parsed, 1).dists["Sat.INC"].offset
    for token, needle in [
        ("Sat.SMA=normal:7100:-1", "sigma"),
        ("Sat.SMA=normal:a:1", "numbers"),
        ("Sat.SMA", "NAME=DIST"),
        ("Sat.SMA=beta:1:2", "unknown"),
    ]:
        with pytest.raises(SpecError, match=needle) as info:
            parse_perturb([token])
        assert repr(token) in str(info.value)
    with pytest.raises(SpecError, match="twice"):
        parse_perturb(["A.B=normal:0:1", "A.B=normal:0:1"])


@given(st.text(max_size=40))
def test_any_perturb_text_parses_or_gives_a_spec_error(text) -> None:
    try:
        parse_perturb([text])
    except SpecError as exc:
        assert "--perturb" in str(exc)


def test_monte_carlo_is_identical_across_batching_and_extends_in_place(
    client, example_script, tmp_path
) -> None:
    perturb = {"Sat.SMA": ("normal", 7100.0, 30.0), "Sat.INC": around(("uniform", -1, 1))}
    first = monte_carlo(
        example_script,
        n=12,
        perturb=perturb,
        seed=11,
        out=tmp_path / "a",
        client=client,
        progress=False,
    ).compute()
    with dask.config.set({"gmat-sweep-dask.max-batch-runs": 1}):
        again = monte_carlo(
            example_script,
            n=12,
            perturb=perturb,
            seed=11,
            out=tmp_path / "b",
            client=client,
            progress=False,
        ).compute()
    pd.testing.assert_frame_equal(first, again)
    assert first.groupby(level=0)["Sat.INC"].first().between(27.5, 29.5).all()  # around 28.5
    before = Manifest.load(tmp_path / "a" / "manifest.jsonl", full=True).entries
    grown = extend(tmp_path / "a", n=6, client=client, progress=False).compute()
    fresh = monte_carlo(
        example_script,
        n=18,
        perturb=perturb,
        seed=11,
        out=tmp_path / "c",
        client=client,
        progress=False,
    ).compute()
    pd.testing.assert_frame_equal(grown, fresh)
    after = Manifest.load(tmp_path / "a" / "manifest.jsonl", full=True)
    assert after.run_count == 18
    for run_id, entry in before.items():
        assert after.entries[run_id]["ended"] == entry["ended"]  # not re-run


def test_a_seedless_sweep_records_its_seed_and_reproduces_its_draws(
    client, example_script, tmp_path
) -> None:
    latin_hypercube(
        example_script,
        n=8,
        perturb={"Sat.SMA": ("uniform", 7000, 7200)},
        out=tmp_path / "s",
        client=client,
        progress=False,
    )
    header = Manifest.load(tmp_path / "s" / "manifest.jsonl").header
    assert isinstance(header["seed"], int) and header["design"]["seed"] == header["seed"]
    reopened = Sweep.from_manifest(tmp_path / "s")
    drawn = open_sweep(tmp_path / "s").compute().groupby(level=0)["Sat.SMA"].first()
    np.testing.assert_array_equal(
        reopened.design.block(0, 8)["Sat.SMA"].to_numpy(), drawn.to_numpy()
    )
    with pytest.raises(SpecError, match="cannot be extended"):
        extend(tmp_path / "s", n=2, client=client, progress=False)


def test_cli_monte_carlo_extend_and_errors(example_script, tmp_path) -> None:
    out = tmp_path / "mc"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "gmat_sweep_dask",
            "monte-carlo",
            str(example_script),
            "--n",
            "6",
            "--perturb",
            "Sat.SMA=normal:7100:50",
            "--seed",
            "42",
            "--out",
            str(out),
            "--workers",
            "1",
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "6 runs: 6 ok" in run.stdout
    grown = subprocess.run(
        [
            sys.executable,
            "-m",
            "gmat_sweep_dask",
            "extend",
            str(out),
            "--n",
            "2",
            "--workers",
            "1",
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert grown.returncode == 0, grown.stderr
    assert "8 runs: 8 ok" in grown.stdout
    shown = CliRunner().invoke(main, ["show", str(out)])
    assert shown.exit_code == 0 and "monte_carlo, 8 runs over Sat.SMA, seed 42" in shown.output
    expected = MonteCarlo({"Sat.SMA": ("normal", 7100.0, 50.0)}, 8, 42).block(0, 8)["Sat.SMA"]
    drawn = open_sweep(out).compute().groupby(level=0)["Sat.SMA"].first()
    np.testing.assert_allclose(drawn.to_numpy(), expected.to_numpy())
    bad = CliRunner().invoke(
        main,
        [
            "monte-carlo",
            str(example_script),
            "--n",
            "5",
            "--perturb",
            "Sat.SMA=normal:7100:0",
            "--out",
            str(tmp_path / "x"),
        ],
    )
    assert bad.exit_code == 2
    assert "--perturb 'Sat.SMA=normal:7100:0'" in bad.output and "sigma" in bad.output
    assert not (tmp_path / "x").exists()


def test_a_latin_hypercube_draws_each_field_s_strata_once(monkeypatch) -> None:
    """Each batch's overrides drew every field's permutation of all n strata again: at
    n = 10**7 that was 3 s of the driver's time per 256 runs (a day and more for the
    sweep), at 10**8 forty seconds per batch before the first run."""
    import pickle

    from gmat_sweep_dask.design.montecarlo import LatinHypercube

    perturb = {"Sat.SMA": ("uniform", 7000, 7100), "Sat.ECC": ("uniform", 0, 0.1)}
    fresh = LatinHypercube(perturb, 100_000, 3)
    philox, drawn = np.random.Philox, []
    monkeypatch.setattr(np.random, "Philox", lambda **k: drawn.append(k) or philox(**k))
    design = LatinHypercube(perturb, 100_000, 3)
    batches = [design.overrides(list(range(start, start + 256))) for start in range(0, 5120, 256)]
    assert len(drawn) == 2  # one permutation per field, not one per field per batch
    monkeypatch.setattr(np.random, "Philox", philox)
    assert batches[7] == fresh.overrides(list(range(7 * 256, 8 * 256)))  # the same draws
    assert len(pickle.dumps(design)) < 10_000  # the strata stay out of a pickled copy
    assert pickle.loads(pickle.dumps(design)).overrides([99_999]) == fresh.overrides([99_999])
