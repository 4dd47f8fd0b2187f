"""Each run's ``context`` (JSON values a postprocess hook receives with the run), and
:class:`PerRun`, what a sweep hands each batch beyond its overrides.

``context=`` is a mapping ``{run_id: {...}}`` (runs it lacks get ``{}``) or a callable
``run_id -> {...}``, evaluated in the driver for every run still to run, before anything
runs, so a value that is not JSON (a set, NaN, a non-text key) is refused up front. Each
run's context is recorded in its manifest entries; a reopened sweep (resume, extend)
gives a run its recorded context back, and only runs never recorded ask ``context=``
(of the reopening call) again.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gmat_sweep_dask.errors import SpecError

if TYPE_CHECKING:
    from gmat_sweep_dask.execute.postprocess import Hook
    from gmat_sweep_dask.store.manifest import Manifest

Contexts = Mapping[int, Mapping[str, Any]] | Callable[[int], Mapping[str, Any]] | None


def check_given(context: Any) -> Contexts:
    """``context`` if it is None, a mapping or a callable.

    Raises:
        SpecError: anything else.
    """
    if context is None or isinstance(context, Mapping) or callable(context):
        return context
    raise SpecError(
        f"context={context!r:.80}: expected a mapping {{run_id: {{...}}}} or a callable "
        "run_id -> mapping"
    )


def contexts_for(
    given: Contexts, run_ids: Iterable[int], recorded: Mapping[int, Mapping[str, Any]]
) -> dict[int, dict[str, Any]]:
    """The context of each of ``run_ids``: its ``recorded`` entry's, else ``given``'s.

    Runs without one are left out (their context is ``{}``). Without ``given`` this
    costs what the manifest holds, not what ``run_ids`` counts (it must support ``in``).

    Raises:
        SpecError: a context is not a JSON object of finite values.
    """
    found: dict[int, dict[str, Any]] = {}
    if given is None:  # only recorded contexts: as many as the manifest holds, whatever
        for run_id, entry in recorded.items():  # the number of runs (10^12 in a grid)
            if "context" in entry and run_id in run_ids:
                found[run_id] = dict(entry["context"])
        return found
    for run_id in run_ids:
        entry = recorded.get(run_id)
        if entry is not None and "context" in entry:
            found[run_id] = dict(entry["context"])
            continue
        if given is None:
            continue
        value = given.get(run_id) if isinstance(given, Mapping) else given(run_id)
        if value is not None:
            found[run_id] = checked(run_id, value)
    return found


def checked(run_id: int, value: Any) -> dict[str, Any]:
    """``value`` as a run's context: a mapping of text keys to JSON values, finite numbers.

    Raises:
        SpecError: naming the run and what is wrong.
    """
    where = f"context of run {run_id}"
    if not isinstance(value, Mapping):
        raise SpecError(f"{where}: {value!r:.80} is not a mapping")
    try:
        text = json.dumps(dict(value), allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"{where}: not JSON ({exc}); give text keys, numbers, text, bools, "
                        "lists and mappings") from None  # fmt: skip
    decoded = json.loads(text)
    if _wide(decoded):
        raise SpecError(f"{where}: an integer does not fit in 64 bits")
    if any(not isinstance(k, str) for k in value):
        raise SpecError(f"{where}: its keys must be text")
    return decoded


def _wide(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return not -(2**63) <= value < 2**63
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_wide(v) for v in value.values())
    if isinstance(value, list):
        return any(_wide(v) for v in value)
    return False


@dataclass
class PerRun:
    """What a sweep gives each run beyond its overrides: the hook, contexts, kept outputs."""

    hook: Hook | None = None
    given: Contexts = None
    contexts: dict[int, dict[str, Any]] = field(default_factory=dict)
    entries: Mapping[int, dict[str, Any]] = field(default_factory=dict)

    def prepare(self, out: Path, existing: Manifest | None, run_ids: Iterable[int]) -> None:
        """Before anything runs: refuse a hook other than the recorded one, and work out
        the context of every run in ``run_ids`` (those still to run).

        Raises:
            SpecError: the hook differs from the sweep's recorded hook, or a context is bad.
        """
        from gmat_sweep_dask.execute.postprocess import differs

        self.entries = existing.entries if existing is not None else {}
        if existing is not None:
            problem = differs(existing.header.get("postprocess"), self.hook)
            if problem:
                raise SpecError(f"{out}: {problem}")
        self.contexts = contexts_for(self.given, run_ids, self.entries)

    def record(self) -> dict[str, str] | None:
        """What the header records of the hook."""
        return self.hook.record() if self.hook is not None else None

    def batch_fields(self, run_ids: tuple[int, ...]) -> dict[str, Any]:
        """The :class:`~.task.Batch` fields of these runs: hook, contexts, kept outputs."""
        from gmat_sweep_dask.execute.hooked import kept_outputs

        if self.hook is None and not self.contexts:
            return {}
        fields: dict[str, Any] = {
            "hook": self.hook,
            "contexts": tuple(self.contexts.get(i, {}) for i in run_ids),
        }
        if self.hook is not None:
            fields["stored"] = tuple(kept_outputs(self.entries.get(i)) for i in run_ids)
        return fields
