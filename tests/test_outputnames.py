"""Output file names that would leave a run's directory are confined in the script copy."""

from __future__ import annotations

from pathlib import Path

from gmat_sweep_dask.store import snapshot
from gmat_sweep_dask.store.outputnames import confine_text, in_sequence, output_resources

SCRIPT = """\
Create Spacecraft Sat
Create ReportFile Orbit, Other % two at once
Orbit.Filename = '/no/such/dir/orbit.txt';
Other.Filename = "plain.txt"
Create EphemerisFile Eph;
GMAT Eph.Filename = ../up/eph.oem % where it went
Create FileInterface Reader
Reader.Filename = '/data/states.txt'
BeginMissionSequence
Orbit.Filename = '/late/x.txt'
"""


def test_escaping_output_names_become_plain_names_and_nothing_else_changes() -> None:
    outputs = output_resources([SCRIPT])
    assert outputs == {"Orbit", "Other", "Eph"}  # a FileInterface reads its file
    confined = confine_text(SCRIPT, outputs).split("\n")
    original = SCRIPT.split("\n")
    assert confined[2] == "Orbit.Filename = 'Orbit-orbit.txt';"
    assert confined[5] == "GMAT Eph.Filename = 'Eph-eph.oem' % where it went"
    changed = {i for i, (a, b) in enumerate(zip(original, confined, strict=True)) if a != b}
    assert changed == {2, 5}  # the input file, the plain name and the mission sequence kept


def test_a_snapshot_confines_outputs_created_in_an_include_and_is_not_drift(
    tmp_path: Path,
) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "outputs.script").write_text("Create ReportFile Orbit\n")
    main = source / "main.script"
    main.write_text(
        "#Include 'outputs.script'\nOrbit.Filename = '/elsewhere/o.txt'\nBeginMissionSequence\n"
    )
    sweep = tmp_path / "sweep"
    record = snapshot.take(main, sweep)
    copy = (sweep / record["path"]).read_text()
    assert "Orbit.Filename = 'Orbit-o.txt'" in copy and "/elsewhere" not in copy
    assert snapshot.drift(record, None) == []  # the user's files are as recorded
    assert snapshot.damaged(record, sweep) == []  # the copies are as written
    main.write_text(main.read_text().replace("o.txt", "p.txt"))
    assert snapshot.drift(record, None) == [f"{main} (changed)"]


def test_any_output_file_named_in_the_mission_sequence_is_found() -> None:
    sequence = (
        "Orbit.Filename = 'plain.txt'\nReader.Filename = '/data/b.txt'\nGMAT Eph.Filename = x"
    )
    text = SCRIPT + sequence
    found = in_sequence(text, output_resources([text]))
    first = SCRIPT.count("\n") + 1  # the mission sequence's own Orbit line is the 10th
    assert [n for n, _ in found] == [10, first, first + 2]  # an input file's is no output
