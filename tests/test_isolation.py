"""The engine host: pipelined runs from any thread, a crash or hang costing exactly one run."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from gmat_sweep_dask.execute import hostlink, isolation
from gmat_sweep_dask.execute.hostlink import EngineError


def test_pipelined_runs_survive_a_crash_and_a_hang_in_the_middle(fault_script: Path) -> None:
    faults = [0, 2, 0, 3, 0, 0]  # 2: the engine segfaults; 3: it hangs
    runs = [
        (run_id, {"StandinFault.Value": fault, "Sat.SMA": 7000.0 + run_id}, None)
        for run_id, fault in enumerate(faults)
    ]
    try:
        isolation.run_isolated(str(fault_script), runs[:1], None)  # starts a host
        first = isolation.host_pid()
        results = isolation.run_isolated(str(fault_script), runs, timeout=3.0)
        last = isolation.host_pid()
        alone = {
            run[0]: isolation.run_isolated(str(fault_script), [run], None)[0] for run in runs[4:]
        }
    finally:
        isolation.shutdown()
    assert [r.run_id for r in results] == list(range(len(faults)))
    assert [r.status for r in results] == ["ok", "failed", "ok", "failed", "ok", "ok"]
    assert "crashed (signal SIGSEGV)" in results[1].error
    assert results[3].error.startswith("timeout")
    for run_id, single in alone.items():  # pipelined results are each run's own
        assert results[run_id].tables.keys() == single.tables.keys()
        for key, (table, _) in single.tables.items():
            assert results[run_id].tables[key][0].equals(table)
    assert (
        not results[4]
        .tables[("report", "Positions")][0]
        .equals(results[5].tables[("report", "Positions")][0])
    )
    assert first != last  # two hosts were replaced on the way
    assert os.getpid() not in (first, last)


def _run(run_id: int, fault: int = 0) -> isolation.RunRequest:
    return (run_id, {"StandinFault.Value": fault, "Sat.SMA": 7000.0 + 10 * run_id}, None)


def _positions(result) -> object:
    return result.tables[("report", "Positions")][0]


def test_two_callers_share_one_host_in_order_and_a_crash_costs_only_its_own_run(
    fault_script: Path,
) -> None:
    """A second batch queued behind a crashing run is sent again to a fresh host."""
    script = str(fault_script)
    try:
        first = isolation.start_runs(script, [_run(0), _run(1, fault=2)], None)
        second = isolation.start_runs(script, [_run(2), _run(3)], None)  # queued behind
        crashed = [run.result() for run in first]
        behind = [run.result() for run in second]
        alone = isolation.run_isolated(script, [_run(2), _run(3)], None)
    finally:
        isolation.shutdown()
    assert [r.status for r in crashed] == ["ok", "failed"]
    assert "crashed (signal SIGSEGV)" in crashed[1].error
    assert [(r.run_id, r.status) for r in behind] == [(2, "ok"), (3, "ok")]
    for queued, single in zip(behind, alone, strict=True):
        assert _positions(queued).equals(_positions(single))


def test_a_timeout_counts_from_when_the_run_could_start_not_from_when_it_was_queued(
    fault_script: Path,
) -> None:
    slow = (0, {"StandinDelay.Value": 1.0, "Sat.SMA": 7000.0}, None)
    try:
        ahead = isolation.start_runs(str(fault_script), [slow], None)
        queued = isolation.start_runs(str(fault_script), [_run(1)], timeout=0.8)
        results = [ahead[0].result(), queued[0].result()]
    finally:
        isolation.shutdown()
    assert [r.status for r in results] == ["ok", "ok"]  # 1 s in the queue is not 0.8 s of run


def test_runs_from_many_threads_each_get_their_own_results(fault_script: Path) -> None:
    script = str(fault_script)
    batches = [[_run(10 * t + i) for i in range(4)] for t in range(3)]
    try:
        with ThreadPoolExecutor(3) as pool:
            results = list(pool.map(lambda b: isolation.run_isolated(script, b, None), batches))
        alone = [isolation.run_isolated(script, batch, None) for batch in batches]
    finally:
        isolation.shutdown()
    for batch, got, single in zip(batches, results, alone, strict=True):
        assert [r.run_id for r in got] == [run[0] for run in batch]
        assert all(r.status == "ok" for r in got)
        for mine, reference in zip(got, single, strict=True):
            assert _positions(mine).equals(_positions(reference))


def test_scratch_directories_are_removed_once_results_are_collected(
    fault_script: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    try:
        results = isolation.run_isolated(str(fault_script), [_run(0), _run(1, fault=2)], None)
    finally:
        isolation.shutdown()
    assert [r.status for r in results] == ["ok", "failed"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "sched_getscheduler"), reason="Linux scheduling policies")
def test_a_host_restarted_after_a_crash_runs_under_the_normal_policy(fault_script: Path) -> None:
    """The receiver thread is SCHED_BATCH; the engine it restarts must not inherit that."""
    try:
        results = isolation.run_isolated(str(fault_script), [_run(0, fault=2), _run(1)], None)
        pid = isolation.host_pid()
        assert pid is not None
        policy = os.sched_getscheduler(pid)
    finally:
        isolation.shutdown()
    assert [r.status for r in results] == ["failed", "ok"]
    assert policy == os.SCHED_OTHER


def _fail_answering(monkeypatch, run_id: int, error: BaseException) -> None:
    """Make the receiver's wait for run ``run_id``'s answer raise ``error``, once."""
    original = hostlink.EngineHost.answer

    def answer(self, request):
        if request.operation == "run" and request.arguments[1] == run_id:
            monkeypatch.setattr(hostlink.EngineHost, "answer", original)
            raise error
        return original(self, request)

    monkeypatch.setattr(hostlink.EngineHost, "answer", answer)


def test_a_reply_path_failure_fails_its_run_with_the_reason_and_a_fresh_host_goes_on(
    fault_script: Path, monkeypatch
) -> None:
    script = str(fault_script)
    try:
        isolation.run_isolated(script, [_run(0)], None)
        first = isolation.host_pid()
        _fail_answering(monkeypatch, 1, RuntimeError("injected"))
        results = isolation.run_isolated(script, [_run(1), _run(2), _run(3)], None)
        last = isolation.host_pid()
    finally:
        isolation.shutdown()
    assert [r.status for r in results] == ["failed", "ok", "ok"]
    assert results[0].error == (
        "the reply path from the GMAT engine failed: RuntimeError: injected"
    )
    assert first != last


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_dead_receiver_thread_fails_its_callers_and_the_next_request_starts_afresh(
    fault_script: Path, monkeypatch
) -> None:
    script = str(fault_script)
    try:
        _fail_answering(monkeypatch, 2, SystemExit())  # ends the thread, silently
        results = isolation.run_isolated(script, [_run(1), _run(2)], None)
        after = isolation.run_isolated(script, [_run(3)], None)
    finally:
        isolation.shutdown()
    assert [r.status for r in results] == ["ok", "failed"]
    assert results[1].error == "the thread reading the GMAT engine's answers died"
    assert [r.status for r in after] == ["ok"]


def test_an_engine_that_does_not_start_in_time_fails_the_runs_sent_to_it(
    fault_script: Path, monkeypatch
) -> None:
    isolation.shutdown()
    monkeypatch.setenv("GMAT_STANDIN_BOOT_DELAY", "60")  # inherited by the next host
    try:
        pending = isolation.start_runs(str(fault_script), [_run(0), _run(1)], 5, 1.0)
        results = [run.result() for run in pending]
    finally:
        isolation.shutdown()
    assert [r.status for r in results] == ["failed", "failed"]
    assert all(r.error == "the GMAT engine process did not start within 1 s" for r in results)


def test_a_request_the_host_cannot_serve_fails_alone_and_the_host_stays(
    fault_script: Path,
) -> None:
    try:
        isolation.run_isolated(str(fault_script), [_run(0)], None)
        host = isolation.host_pid()
        with pytest.raises(EngineError, match="KeyError: 'no-such-operation'"):
            isolation._engine().submit("no-such-operation", (), None, 60).reply()
        after = isolation.run_isolated(str(fault_script), [_run(1)], None)
        assert isolation.host_pid() == host
    finally:
        isolation.shutdown()
    assert after[0].status == "ok"


def test_the_host_answers_a_run_with_arrow_tables_not_pandas_frames(fault_script: Path) -> None:
    """Normalised in the host: the worker receives Arrow (cheap to unpickle), no frames."""
    import pyarrow as pa

    try:
        (pending,) = isolation.start_runs(str(fault_script), [_run(0)], None)
        raw = pending.ticket.reply()
    finally:
        isolation.shutdown()
    assert raw.status == "ok" and raw.frames == {}
    table, meta = raw.tables[("report", "Positions")]
    assert isinstance(table, pa.Table) and table.column_names[:2] == ["run_id", "time"]
    assert meta["kind"] == "report"


def test_stopping_the_engine_leaves_closing_its_link_to_the_thread_reading_it(
    fault_script: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``shutdown()`` (Ctrl-C) only kills the host; the receiver thread, which reads the
    link, closes it once. Each close is slowed here so that a second thread closing the
    link at the same time would collide: a double close failed one CI run's Ctrl-C with
    ``OSError: [Errno 9] Bad file descriptor``, and a descriptor closed under a reader
    can be reused by any file opened meanwhile."""
    from gmat_standin import Gate

    gate = Gate(tmp_path)
    for name, value in gate.env({}).items():
        monkeypatch.setenv(name, value)
    closes: list[str] = []
    watching = threading.Event()
    close = Connection._close

    def slow_close(link: Connection) -> None:
        close(link)
        if watching.is_set():  # not the links of earlier tests' hosts, closed on the way
            closes.append(threading.current_thread().name)
            time.sleep(0.2)  # widens the window before Connection.close forgets the handle

    monkeypatch.setattr(Connection, "_close", slow_close)
    errors: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda hook: errors.append(hook.exc_value))
    try:
        isolation.shutdown()  # the next host starts with the gate's environment
        (pending,) = isolation.start_runs(str(fault_script), [_run(0)], None)
        gate.wait_for_runs(1)  # the run is in the engine; the receiver awaits its answer
        watching.set()
        isolation.shutdown()
        result = pending.result()
    finally:
        isolation.shutdown()
    assert result.status == "failed"
    assert result.error == "the GMAT engine was stopped (the sweep is stopping)"
    assert closes == ["gmat-sweep-dask-engine"]
    assert errors == []


def test_a_timeout_or_engine_timeout_of_years_is_as_good_as_none(fault_script: Path) -> None:
    """``--timeout 1e9`` (a user's "no limit") once failed every run with "the reply path
    from the GMAT engine failed: OverflowError: timeout is too large": a wait longer than
    ``poll()`` takes (about 24.8 days) must be waited in parts."""
    try:
        results = isolation.run_isolated(str(fault_script), [_run(0)], 1e9)
        pending = isolation.start_runs(str(fault_script), [_run(1)], 1e308, 1e308)
        results += [run.result() for run in pending]
        isolation.shutdown()  # a fresh host: its start is waited for with engine_timeout
        pending = isolation.start_runs(str(fault_script), [_run(2)], None, 1e12)
        results += [run.result() for run in pending]
    finally:
        isolation.shutdown()
    assert [(r.status, r.error) for r in results] == [("ok", None)] * 3


def test_a_ctrl_c_while_the_engine_host_starts_up_is_left_to_the_driver(
    fault_script: Path,
) -> None:
    """A Ctrl-C reaches the whole process group, engine hosts too. One arriving while a
    host's Python still started (before it could ignore SIGINT: the first second of every
    command, which starts its engines at once) killed the host with a
    ``KeyboardInterrupt`` traceback on the terminal."""
    import signal

    class Probe:
        operation, arguments = "check", ()
        timeout = 60.0
        engine_timeout = 120.0

        def begin(self) -> None:
            pass

        def left(self) -> float:
            return self.timeout

    hosts = [hostlink.EngineHost() for _ in range(3)]
    try:
        for host in hosts:
            os.kill(host.process.pid, signal.SIGINT)
        for host in hosts:
            host.send("check", (str(fault_script), ["Sat.SMA"]))
        answers = [host.answer(Probe()) for host in hosts]
    finally:
        for host in hosts:
            host.kill()
    assert [(a.error, a.host_lost) for a in answers] == [(None, False)] * 3


def test_an_engine_killed_while_starting_costs_no_run_and_twice_fails_them_as_never_run(
    fault_script: Path, monkeypatch
) -> None:
    # A fresh host SIGSEGVed during its cold start: the first run sent to it was recorded
    # "GMAT engine crashed (signal SIGSEGV)", as if it had crashed GMAT, though it never ran.
    import signal

    def kill_starting_host(previous: int | None = None) -> int:
        deadline = time.monotonic() + 30
        while isolation.host_pid() in (None, previous) and time.monotonic() < deadline:
            time.sleep(0.02)
        pid = isolation.host_pid()
        assert pid is not None
        os.kill(pid, signal.SIGSEGV)
        return pid

    isolation.shutdown()
    monkeypatch.setenv("GMAT_STANDIN_BOOT_DELAY", "1")  # inherited by the next hosts
    try:
        pending = isolation.start_runs(str(fault_script), [_run(0), _run(1)], 5, 60.0)
        kill_starting_host()  # once: they go to a fresh host, which starts
        assert [run.result().status for run in pending] == ["ok", "ok"]
        isolation.shutdown()
        pending = isolation.start_runs(str(fault_script), [_run(2), _run(3)], 5, 60.0)
        first = kill_starting_host()
        kill_starting_host(first)  # twice in a row: a GMAT that cannot start fails them
        results = [run.result() for run in pending]
    finally:
        isolation.shutdown()
    assert [r.error for r in results] == ["GMAT engine crashed (signal SIGSEGV) while starting"] * 2
