"""The settings are documented once, in the comments of gmat-sweep-dask.yaml; the docs
tables, the CLI help and the sweep() docstring are generated from them and cannot drift."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
import yaml

from gmat_sweep_dask import options, sweep
from gmat_sweep_dask.cli import main

REPO = Path(__file__).resolve().parent.parent
GENERATED = [REPO / "README.md", REPO / "docs" / "configuration.md"]
REGENERATE = "python -m gmat_sweep_dask.options README.md docs/configuration.md"


def words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("page", GENERATED, ids=lambda p: p.name)
def test_the_options_tables_are_generated_from_the_yaml(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert options.BEGIN in text, f"{page.name} has no generated options region"
    assert options.regenerate(text) == text, f"{page.name} drifted from the YAML: {REGENERATE}"


def test_every_setting_is_documented_and_the_defaults_agree() -> None:
    values = yaml.safe_load(options.YAML.read_text(encoding="utf-8"))["gmat-sweep-dask"]
    documented = options.options()
    assert list(documented) == list(values)
    for key, option in documented.items():
        assert option.text.strip(), key
        assert yaml.safe_load(option.default) == values[key], key


def test_per_sweep_overrides_exist_and_their_help_is_the_yaml_text() -> None:
    run = main.commands["run"]
    flags = {flag: p for p in run.params for flag in (*p.opts, *getattr(p, "secondary_opts", ()))}
    arguments = inspect.signature(sweep).parameters
    for key, option in options.options().items():
        for name in option.per_sweep:
            if name.startswith("--"):
                assert name in flags, f"{key}: {name} is not an option of run"
                assert words(option.help()) in words(flags[name].help or ""), name
            else:
                assert name.endswith("=") and name[:-1] in arguments, f"{key}: {name}"
                assert words(option.text.replace("`", "``")) in words(sweep.__doc__ or "")


def test_a_drifted_table_is_regenerated_and_a_missing_region_is_refused(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "intro\n<!-- options table: generated -->\n| stale |\n<!-- end of options -->\nmore\n"
    )
    options.main([str(page)])
    text = page.read_text()
    assert "| stale |" not in text and text.startswith("intro\n") and text.endswith("more\n")
    assert options.markdown_table() in text
    plain = tmp_path / "plain.md"
    plain.write_text("no region here\n")
    with pytest.raises(ValueError, match="no region"):
        options.main([str(plain)])


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("gmat-sweep-dask:\n  retries: 2\n", "retries has no comment"),
        ("gmat-sweep-dask:\n  # a\n  nested:\n    deeper: 1\n", "expected a comment or a key"),
        ("other:\n  # a\n  retries: 2\n", "first line"),
    ],
)
def test_an_undocumented_or_unexpected_yaml_is_refused(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=re.escape(error)):
        options.parse(text)


def test_docstring_splice_needs_its_placeholder() -> None:
    def documented() -> None:
        """Run.

        {settings}
        """

    options.document("timeout")(documented)
    assert "``timeout`` (null): Per-run timeout" in words(documented.__doc__ or "")

    def bare() -> None:
        """No placeholder."""

    with pytest.raises(ValueError, match="lacks a"):
        options.document("timeout")(bare)
