"""The per-run postprocess hook: which function, checked in the driver and on the workers.

A hook is named ``"package.module:function"`` or given as a Python callable (pickled with
cloudpickle, so it must be picklable). The driver imports (or pickles) it before anything
runs, and every worker imports it before any run (:func:`check_on_workers`); the
manifest header records its name, so resume and extend run the same hook. How it is
called and what it may return: :mod:`~gmat_sweep_dask.execute.hookcall`.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gmat_sweep_dask.errors import SpecError

_SPEC = re.compile(r"^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):([A-Za-z_]\w*)$")


@dataclass(frozen=True)
class Hook:
    """A hook as a batch carries it: its spec, or its pickled callable, and where it lives."""

    spec: str | None = None
    pickled: bytes | None = None
    name: str = ""
    path: tuple[str, ...] = ()
    """The worker's ``sys.path``, so the engine host imports what the worker could."""

    def record(self) -> dict[str, str]:
        """What the manifest header records of it."""
        return {"hook": self.spec} if self.spec else {"callable": self.name}

    def on_path(self) -> Hook:
        """This hook carrying the calling process's ``sys.path``."""
        return Hook(self.spec, self.pickled, self.name, tuple(sys.path))

    def load(self) -> Callable[..., Any]:
        """The hook function (imported, or unpickled).

        Raises:
            SpecError: it cannot be imported here, or is not callable.
        """
        for entry in self.path:
            if entry not in sys.path:
                sys.path.append(entry)
        if self.pickled is not None:
            import cloudpickle

            try:
                return cloudpickle.loads(self.pickled)
            except Exception as exc:
                problem = f"postprocess {self.name}: cannot unpickle it here: {exc}"
                raise SpecError(problem) from None
        assert self.spec is not None
        return _import(self.spec)


def hook_from(value: str | Callable[..., Any] | None) -> Hook | None:
    """The :class:`Hook` of a ``postprocess=`` value, checked in this process (the driver).

    Raises:
        SpecError: not ``"package.module:function"`` or a callable; the module cannot be
            imported or has no such callable; a callable cannot be pickled.
    """
    if value is None:
        return None
    if isinstance(value, str):
        _import(value)
        return Hook(spec=value)
    if not callable(value):
        raise SpecError(
            f"postprocess={value!r}: expected 'package.module:function' or a Python callable"
        )
    import cloudpickle

    name = f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', repr(value))}"
    try:
        pickled = cloudpickle.dumps(value)
    except Exception as exc:
        raise SpecError(
            f"postprocess {name}: a callable hook must be picklable (cloudpickle), "
            f"for the workers: {type(exc).__name__}: {exc}"
        ) from None
    return Hook(pickled=pickled, name=name)


def hook_of_header(recorded: Any, given: str | Callable[..., Any] | None) -> Hook | None:
    """The hook a reopened sweep runs: ``given``, else the one its header names.

    Raises:
        SpecError: the header records a Python callable and none is given, or the
            recorded or given hook cannot be loaded.
    """
    if given is not None:
        return hook_from(given)
    if not recorded:
        return None
    if "hook" in recorded:
        return hook_from(recorded["hook"])
    raise SpecError(
        f"this sweep's postprocess hook was the Python callable {recorded.get('callable')}; "
        "pass it again as postprocess= to resume or extend it"
    )


def differs(recorded: Any, hook: Hook | None) -> str | None:
    """Why ``hook`` is not the hook a sweep's header ``recorded`` (None if it is)."""
    wanted = hook.record() if hook is not None else None
    if (recorded or None) == wanted:
        return None
    had = _words(recorded)
    return (
        f"the sweep here was made with {had}, not {_words(wanted)}; resume it, or choose "
        "another output directory"
    )


def _words(record: Any) -> str:
    if not record:
        return "no postprocess hook"
    return f"postprocess hook {record.get('hook') or record.get('callable')}"


def _import(spec: str) -> Callable[..., Any]:
    match = _SPEC.match(spec)
    if not match:
        raise SpecError(f"postprocess {spec!r}: expected 'package.module:function'")
    module_name, attribute = match.groups()
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise SpecError(
            f"postprocess {spec!r}: cannot import module {module_name!r} "
            f"({type(exc).__name__}: {exc})"
        ) from None
    if not hasattr(module, attribute):
        raise SpecError(
            f"postprocess {spec!r}: module {module_name!r} has no attribute {attribute!r}"
        )
    function = getattr(module, attribute)
    if not callable(function):
        raise SpecError(f"postprocess {spec!r}: {attribute!r} is not callable")
    return function


def loadable(hook: Hook) -> str | None:
    """Why ``hook`` cannot be loaded in this process (a worker), or None if it can."""
    try:
        hook.load()
    except SpecError as exc:
        return str(exc)
    return None


def check_on_workers(client: Any, hook: Hook) -> None:
    """Load ``hook`` on every worker of ``client`` (the first to join, if none has yet).

    Raises:
        SpecError: a worker cannot import it, naming the worker and why.
    """
    if client.nthreads():
        answers = client.run(loadable, hook)
    else:
        answers = {"the first worker": client.submit(loadable, hook, pure=False).result()}
    failing = {worker: why for worker, why in answers.items() if why}
    if failing:
        worker, why = sorted(failing.items())[0]
        more = f" (and {len(failing) - 1} more)" if len(failing) > 1 else ""
        raise SpecError(
            f"postprocess {hook.spec or hook.name} cannot be imported on worker {worker}{more}: "
            f"{why}; the workers need the hook's module on their path (install it, or set "
            "PYTHONPATH)"
        )
