"""Manifest durability rules: torn tails, last-wins folding, corruption, repair."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gmat_sweep_dask.errors import ManifestCorruptError, SweepDirError, UsageError
from gmat_sweep_dask.store import manifest as mf
from gmat_sweep_dask.store.manifest_writer import ManifestWriter

HEADER = {"format": mf.MAGIC, "schema_version": 1, "run_count": 4, "design": {"kind": "grid"}}


def entry(run_id: int, status: str = "ok", **extra: object) -> dict:
    return {"run_id": run_id, "status": status, "overrides": {}, "outputs": {}, **extra}


def write(path: Path, records: list[dict]) -> bytes:
    data = b"".join(mf.encode(r) for r in records)
    path.write_bytes(data)
    return data


def test_writer_round_trip_and_last_wins(tmp_path: Path) -> None:
    path = tmp_path / "manifest.jsonl"
    writer = ManifestWriter.create(path, HEADER)
    writer.append([entry(0, "failed", error="boom"), entry(1)])
    writer.append([entry(0, "ok")])
    writer.close()
    loaded = mf.Manifest.load(path)
    assert loaded.header == HEADER
    assert loaded.entries[0]["status"] == "ok"
    assert loaded.status_counts() == {"ok": 2, "missing": 2}
    assert list(loaded.pending()) == [2, 3]


def test_create_refuses_to_replace_an_existing_manifest(tmp_path: Path) -> None:
    path = tmp_path / "manifest.jsonl"
    ManifestWriter.create(path, HEADER).close()
    before = path.read_bytes()
    with pytest.raises(SweepDirError, match="already exists"):
        ManifestWriter.create(path, {**HEADER, "run_count": 9})
    assert path.read_bytes() == before


def test_a_torn_tail_at_every_byte_loses_at_most_the_torn_entry(tmp_path: Path) -> None:
    path = tmp_path / "manifest.jsonl"
    records = [HEADER, entry(0), entry(1), entry(2, "failed", error="x")]
    full = write(path, records)
    last_two = len(mf.encode(records[-1])) + len(mf.encode(records[-2]))
    for cut in range(len(full) - last_two, len(full) + 1):
        path.write_bytes(full[:cut])
        loaded = mf.Manifest.load(path, full=True)
        complete_lines = full[:cut].count(b"\n") - 1
        assert set(loaded.entries) >= set(range(complete_lines))
        assert len(loaded.entries) <= 3
        for run_id, e in loaded.entries.items():
            assert e == records[run_id + 1]


def test_entries_are_slim_unless_full(tmp_path: Path) -> None:
    path = tmp_path / "manifest.jsonl"
    write(path, [HEADER, entry(0, worker="w", overrides={"Sat.SMA": 1.0}, log_tail="x")])
    slim = mf.Manifest.load(path).entries[0]
    assert set(slim) <= set(mf.SLIM_FIELDS) and slim["status"] == "ok"
    assert mf.Manifest.load(path, full=True).entries[0]["worker"] == "w"


def test_reopen_repairs_a_torn_tail_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "manifest.jsonl"
    full = write(path, [HEADER, entry(0), entry(1)])
    path.write_bytes(full[:-7])  # tear the last entry
    torn = mf.Manifest.load(path)
    assert torn.torn and set(torn.entries) == {0}
    writer = ManifestWriter.reopen(torn)
    writer.append([entry(3)])
    writer.close()
    again = mf.Manifest.load(path)
    assert not again.torn
    assert set(again.entries) == {0, 3}


def test_reopen_keeps_a_complete_record_missing_only_its_newline(tmp_path: Path) -> None:
    path = tmp_path / "manifest.jsonl"
    full = write(path, [HEADER, entry(0), entry(1)])
    path.write_bytes(full[:-1])
    loaded = mf.Manifest.load(path)
    assert set(loaded.entries) == {0, 1}
    writer = ManifestWriter.reopen(loaded)
    writer.append([entry(2)])
    writer.close()
    assert set(mf.Manifest.load(path).entries) == {0, 1, 2}


def test_an_unreadable_middle_line_is_lost_and_a_bad_record_names_its_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "manifest.jsonl"
    data = write(path, [HEADER, entry(0), entry(1)])
    lines = data.split(b"\n")
    lines[1] = lines[1][:10]  # torn by a crash, then written after: a lost record
    path.write_bytes(b"\n".join(lines))
    before = path.read_bytes()
    loaded = mf.Manifest.load(path)
    assert loaded.lost == [2] and set(loaded.entries) == {1}
    assert path.read_bytes() == before
    lines[1] = b"[1, 2]"  # JSON, but no record: an error naming the line
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(ManifestCorruptError) as info:
        mf.Manifest.load(path)
    assert f"{path}:2:" in str(info.value)


def test_the_header_is_written_twice_and_either_copy_suffices(tmp_path: Path) -> None:
    path = tmp_path / "manifest.jsonl"
    ManifestWriter.create(path, HEADER).close()
    one, two = path.read_bytes().splitlines(keepends=True)
    assert one == two == mf.encode(HEADER)
    for damaged in (two, b'{"form\n' + two, one[:20] + b"\n" + two, one):
        path.write_bytes(damaged + mf.encode(entry(0)))
        assert mf.Manifest.load(path).header == HEADER
    path.write_bytes(one + mf.encode({**HEADER, "run_count": 3}))
    with pytest.raises(ManifestCorruptError, match=r"manifest\.jsonl:2: .*repeated header"):
        mf.Manifest.load(path)


def test_updates_and_moves_are_written_twice_and_applied_once(tmp_path: Path) -> None:
    path = tmp_path / "manifest.jsonl"
    writer = ManifestWriter.create(path, HEADER)
    a, b = "data/report/O/part-000000000-a.parquet", "data/report/O/compact-000000000-b.parquet"
    writer.append([{**entry(0), "outputs": {"report/O": {"path": a, "rows": 1}}}])
    writer.update_header({"run_count": 6})
    writer.record_moves([([a], b)])
    writer.close()
    lines = path.read_bytes().splitlines(keepends=True)
    assert lines[3] == lines[4] and lines[5] == lines[6]
    for lost in (None, 3, 4, 5, 6):
        kept = [line for i, line in enumerate(lines) if i != lost]
        path.write_bytes(b"".join([*kept, mf.encode(entry(5))]))
        loaded = mf.Manifest.load(path)
        assert loaded.run_count == 6
        assert loaded.entries[0]["outputs"]["report/O"]["path"] == b


@pytest.mark.parametrize(
    ("header", "error", "needle"),
    [
        ({**HEADER, "schema_version": 99}, SweepDirError, "newer"),
        ({**HEADER, "format": "x"}, ManifestCorruptError, "not a gmat-sweep-dask"),
        ({**HEADER, "run_count": -1}, ManifestCorruptError, "run_count"),
        ({**HEADER, "run_count": True}, ManifestCorruptError, "run_count"),
        ({**HEADER, "design": "grid"}, ManifestCorruptError, "design 'grid' is not an object"),
        ({**HEADER, "design": {"axes": []}}, ManifestCorruptError, "with a kind"),
        ({**HEADER, "script": 5}, ManifestCorruptError, "script 5 is not str"),
        ({**HEADER, "script_sha256": None}, ManifestCorruptError, "script_sha256 None"),
        ({**HEADER, "snapshot": "x"}, ManifestCorruptError, "snapshot 'x' is not dict"),
        ({**HEADER, "snapshot": {"path": 5, "files": {}}}, ManifestCorruptError, "snapshot"),
        ({**HEADER, "snapshot": {"path": "s", "files": {"s": 1}}}, ManifestCorruptError, "snap"),
        ({**HEADER, "postprocess": "os:system"}, ManifestCorruptError, "postprocess 'os"),
        ({**HEADER, "gmat": [1]}, ManifestCorruptError, r"gmat \[1\] is not dict or null"),
        ({**HEADER, "keep_raw": "x"}, ManifestCorruptError, "keep_raw 'x' is not bool"),
        ({**HEADER, "isolate": 1}, ManifestCorruptError, "isolate 1 is not bool"),
    ],
)
def test_bad_headers(tmp_path: Path, header: dict, error: type, needle: str) -> None:
    path = tmp_path / "manifest.jsonl"
    write(path, [header])
    with pytest.raises(error, match=needle):
        mf.Manifest.load(path)


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"outputs": []}, r"outputs \[\] is not dict"),
        ({"overrides": None}, "overrides is null"),
        ({"started": 5}, "started 5 is not str"),
        ({"duration_s": True}, "duration_s True is not int or float"),
        ({"outputs": {"report/Orbit": {"rows": 3}}}, "output 'report/Orbit' has no path"),
        (
            {"outputs": {"report/Orbit": {"path": "data/report/Orbit/a.parquet", "rows": -1}}},
            "rows -1",
        ),
        ({"outputs": {"report/Orbit": {"path": "../x.parquet", "rows": 1}}}, "not a data file"),
        ({"outputs": {"report/Orbit": {"path": "/etc/x.parquet", "rows": 1}}}, "not a data file"),
    ],
)
def test_mistyped_entry_fields_are_corruption_at_their_line(
    tmp_path: Path, changes: dict, needle: str
) -> None:
    path = tmp_path / "manifest.jsonl"
    write(path, [HEADER, entry(0), {**entry(1), **changes}, entry(2)])
    with pytest.raises(ManifestCorruptError, match=f"manifest.jsonl:3: .*{needle}"):
        mf.Manifest.load(path)


def test_entries_outside_the_design_are_corruption(tmp_path: Path) -> None:
    path = tmp_path / "manifest.jsonl"
    write(path, [HEADER, entry(7), entry(0)])
    with pytest.raises(ManifestCorruptError, match="run_id 7"):
        mf.Manifest.load(path)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300), lines=st.lists(st.text(max_size=30), max_size=5))
def test_random_bytes_give_a_clean_error_or_a_manifest(tmp_path: Path, data: bytes, lines) -> None:
    path = tmp_path / "fuzz.jsonl"
    header = mf.encode(HEADER)
    for blob in (data, header + data, header + "\n".join(lines).encode() + b"\n" + data):
        path.write_bytes(blob)
        try:
            loaded = mf.Manifest.load(path)
        except UsageError:
            continue
        assert all(0 <= k < loaded.run_count for k in loaded.entries)
        json.dumps(loaded.header)


def test_a_header_update_of_the_wrong_type_is_corruption_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "manifest.jsonl"
    write(path, [HEADER, entry(0), {"update": {"snapshot": ["script/x.script"]}}])
    with pytest.raises(ManifestCorruptError, match=r"manifest\.jsonl:3: .*snapshot"):
        mf.Manifest.load(path)


def test_a_header_json_cannot_hold_leaves_no_file_behind(tmp_path) -> None:
    """A header value out of the manifest's range (an integer of 2**63 or more) once left
    an empty ``manifest.jsonl.new``: the directory was no longer empty and the same
    sweep, corrected, was refused as "not an empty directory or a sweep directory"."""
    with pytest.raises(ValueError, match="does not fit in 64 bits"):
        ManifestWriter.create(tmp_path / "manifest.jsonl", {"kind": "header", "seed": 2**64})
    assert list(tmp_path.iterdir()) == []


def test_a_manifest_is_read_line_by_line_never_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 1,000,000-run manifest (~375 MB) was read whole and split: ~920 MB-1.5 GB peak
    before a line was parsed. It is read one line at a time now (benchmarks/README.md)."""
    path = tmp_path / "manifest.jsonl"
    data = write(path, [HEADER, HEADER, entry(0), entry(1, "failed", error="x")])
    path.write_bytes(data + b'{"run_id": 2, "sta')  # and a torn tail

    def whole(self: Path) -> bytes:
        raise AssertionError(f"{self} read whole")

    monkeypatch.setattr(Path, "read_bytes", whole)
    monkeypatch.setattr(Path, "read_text", whole)
    loaded = mf.Manifest.load(path)
    assert loaded.status_counts() == {"ok": 1, "failed": 1, "missing": 2}
    assert loaded.torn and loaded.valid_bytes == len(data) and loaded.lost == []


def test_runs_of_one_batch_share_their_outputs_in_memory_and_moves_reach_them_all(
    tmp_path: Path,
) -> None:
    path = tmp_path / "manifest.jsonl"
    batch = {"report/Orbit": {"path": "data/report/Orbit/part-000000000-a.parquet", "rows": 5}}
    other = {"report/Orbit": {"path": "data/report/Orbit/part-000000000-a.parquet", "rows": 6}}
    write(path, [HEADER, entry(0, outputs=batch), entry(1, outputs=batch), entry(2, outputs=other)])
    loaded = mf.Manifest.load(path)
    first, second, third = (loaded.entries[r]["outputs"] for r in range(3))
    assert first is second and first is not third and first == batch and third == other
    loaded.apply_moves({batch["report/Orbit"]["path"]: "data/report/Orbit/compact-0-b.parquet"})
    paths = {loaded.entries[r]["outputs"]["report/Orbit"]["path"] for r in range(3)}
    assert paths == {"data/report/Orbit/compact-0-b.parquet"}
    assert loaded.entries[0]["status"] is loaded.entries[2]["status"]


def test_full_can_keep_only_the_runs_asked_for(tmp_path: Path) -> None:
    """``show --run 7`` needs run 7 in full only, not a million full entries."""
    path = tmp_path / "manifest.jsonl"
    write(path, [HEADER, *(entry(r, worker="w") for r in range(3))])
    loaded = mf.Manifest.load(path, full={1})
    assert [loaded.entries[r].get("worker") for r in range(3)] == [None, "w", None]
    assert not loaded.full


def test_full_can_keep_the_entries_a_function_picks(tmp_path: Path) -> None:
    """``show --failed`` needs the failed runs in full only (a 1M-run sweep: 1.8 GiB)."""
    path = tmp_path / "manifest.jsonl"
    records = [entry(0, "failed", worker="w"), entry(1, worker="w"), entry(2, "failed", worker="w")]
    write(path, [HEADER, *records, entry(2, worker="w")])  # run 2 ok at last: slim
    loaded = mf.Manifest.load(path, full=lambda e: e["status"] == "failed")
    assert [loaded.entries[r].get("worker") for r in range(3)] == ["w", None, None]


def test_slim_entries_can_keep_the_fields_asked_for(tmp_path: Path) -> None:
    """``runs_table`` needs every run's times and worker, not every run's overrides."""
    path = tmp_path / "manifest.jsonl"
    write(path, [HEADER, *(entry(r, worker=f"w{r}") for r in range(3))])
    loaded = mf.Manifest.load(path, fields=("worker",))
    assert [loaded.entries[r]["worker"] for r in range(3)] == ["w0", "w1", "w2"]
    assert all(set(e) - set(mf.SLIM_FIELDS) == {"worker"} for e in loaded.entries.values())
    assert "worker" not in mf.Manifest.load(path).entries[0] and not loaded.full
