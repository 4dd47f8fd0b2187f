"""``show --run N`` and ``show --where EXPR``: one run in full, or the runs matching a filter.

Both read the manifest only (through :func:`~gmat_sweep_dask.runs_table` for ``--where``),
never the data files, so they answer at once and work while a sweep runs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from gmat_sweep_dask import wording
from gmat_sweep_dask.analysis.failures import explain, log_path
from gmat_sweep_dask.errors import UsageError
from gmat_sweep_dask.store import manifest as mf
from gmat_sweep_dask.store.sweepdir import SweepDir

LOG_TAIL_SHOWN = 12
"""Lines of GMAT's log tail ``--run`` prints."""


def one_run(sweep_dir: Path, run_id: int) -> str:
    """Everything recorded about run ``run_id``: overrides, status, timing, attempts,
    worker, outputs with their row counts, and for a failure its reason, error and log.

    Raises:
        UsageError: ``run_id`` is not a run of this sweep.
    """
    directory = SweepDir(sweep_dir)
    manifest = directory.load(full={run_id})  # the other runs slim: a 1M-run sweep is large
    if not 0 <= run_id < manifest.run_count:
        raise UsageError(
            f"--run {run_id}: this sweep has runs 0..{manifest.run_count - 1}"
            if manifest.run_count
            else f"--run {run_id}: this sweep has no runs"
        )
    entry = manifest.entries.get(run_id)
    if entry is None:
        overrides = directory.design(manifest).overrides([run_id])[0]
        return "\n".join(
            [
                f"run:        {run_id} of {manifest.run_count:,}",
                "status:     missing (never recorded; resume runs it)",
                f"overrides:  {wording.overrides(overrides)}",
            ]
        )
    attempts = entry.get("attempts")
    lines = [
        f"run:        {run_id} of {manifest.run_count:,}",
        f"status:     {entry['status']}"
        + (f" after {wording.plural(attempts, 'attempt')}" if attempts else ""),
        f"overrides:  {wording.overrides(entry.get('overrides'))}",
        f"started:    {entry.get('started') or '-'}",
        f"ended:      {entry.get('ended') or '-'}",
        f"duration:   {wording.seconds(entry.get('duration_s'))}",
        f"worker:     {entry.get('worker') or '-'}",
    ]
    outputs = entry.get("outputs") or {}
    lines += [
        f"output:     {name}: {wording.plural(loc.get('rows', 0), 'row')} in {loc.get('path')}"
        for name, loc in sorted(outputs.items())
    ] or ["output:     -"]
    if entry["status"] == mf.FAILED:
        lines.append(f"reason:     {explain(entry.get('error'), entry.get('log_tail')).text()}")
        lines.append(f"error:      {' '.join((entry.get('error') or '-').split())}")
    log = log_path(Path(sweep_dir), run_id)
    if log is not None:
        lines.append(f"log:        {log}")
    tail = (entry.get("log_tail") or "").rstrip().splitlines()[-LOG_TAIL_SHOWN:]
    if tail:
        lines.append("log tail:")
        lines += [f"  | {line}" for line in tail]
    return "\n".join(lines)


def matching_runs(sweep_dir: Path, expression: str) -> str:
    """The runs of ``sweep_dir`` for which ``expression`` holds, as a table.

    ``expression`` is a pandas :meth:`~pandas.DataFrame.query` expression over the columns
    of :func:`~gmat_sweep_dask.runs_table` (``run_id``, each swept field, ``status``,
    ``duration_s``, ``attempts``, ``worker``, ``error``); dotted field names need no
    backticks (``Sat.SMA > 7100 and status == "failed"``).

    Raises:
        UsageError: the expression cannot be evaluated, or is not a filter.
    """
    from gmat_sweep_dask.analysis.statistics import runs_table

    directory = SweepDir(sweep_dir)
    table = runs_table(directory.path)
    mask = evaluate(table, expression)
    chosen = table[mask.to_numpy(dtype=bool)]
    params = [c for c in table.columns if c not in _RECORDED]
    headers = ["run", *params, "status", "duration", "attempts", "reason"]
    failed = {int(r) for r in chosen.index[chosen["status"] == mf.FAILED]}
    entries = directory.load(full=failed).entries if failed else {}
    rows = [
        [str(run_id), *_cells(row, params, entries.get(int(run_id)))]
        for run_id, row in chosen.iterrows()
    ]
    count = f"{len(chosen):,} of {wording.plural(len(table), 'run')} match {expression}"
    return count if not rows else count + "\n" + wording.table(headers, rows)


_RECORDED = ("status", "duration_s", "attempts", "worker", "error", "started", "ended")


def evaluate(table: pd.DataFrame, expression: str) -> pd.Series:
    """The boolean mask of ``expression`` over ``table`` (dotted names quoted for pandas).

    Raises:
        UsageError: naming the expression, pandas' complaint and the columns there are.
    """
    quoted = quote_names(expression, [str(c) for c in table.columns])
    columns = ", ".join(["run_id", *map(str, table.columns)])
    try:
        mask = table.eval(quoted)
    except Exception as exc:  # pandas raises many kinds for a bad expression
        message = " ".join(str(exc).split()) or type(exc).__name__
        raise UsageError(f"--where {expression!r}: {message}; columns: {columns}") from None
    if not isinstance(mask, pd.Series) or not pd.api.types.is_bool_dtype(mask.dtype):
        raise UsageError(
            f"--where {expression!r}: not a condition (it must be true or false for each "
            f"run, e.g. 'Sat.SMA > 7100'); columns: {columns}"
        )
    return mask.fillna(False)


def quote_names(expression: str, names: list[str]) -> str:
    """``expression`` with each column name that is not a Python identifier (``Sat.SMA``)
    put in backticks, as :meth:`pandas.DataFrame.query` wants, unless it is already."""
    special = sorted((n for n in names if not n.isidentifier()), key=len, reverse=True)
    if not special:
        return expression
    pattern = re.compile(
        "|".join(rf"(?<![\w.`]){re.escape(name)}(?![\w`])" for name in special)
        + r"|`[^`]*`|'[^']*'|\"[^\"]*\""
    )

    def quote(match: re.Match[str]) -> str:
        text = match[0]
        return text if text[0] in "`'\"" else f"`{text}`"

    return pattern.sub(quote, expression)


def _cells(row: Any, params: list[str], entry: dict[str, Any] | None) -> list[str]:
    reason = ""
    if row["status"] == mf.FAILED and entry is not None:
        reason = explain(entry.get("error"), entry.get("log_tail")).text()
    attempts = row["attempts"]
    return [
        *(wording.value(_plain(row[p])) for p in params),
        str(row["status"]),
        wording.seconds(row["duration_s"]) if pd.notna(row["duration_s"]) else "-",
        str(int(attempts)) if pd.notna(attempts) else "-",
        reason,
    ]


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (``wording.value`` formats those)."""
    return value.item() if hasattr(value, "item") else value
