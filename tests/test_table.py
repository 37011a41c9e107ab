"""compare.Table: one object written as markdown (a document for people) and CSV (numbers for programs)."""

from __future__ import annotations

import csv
import io

from genlab.compare import Estimate, Table, write_outputs


def _table() -> Table:
    return Table(
        header=["layers", "k", "nll", "units", "paper"],
        rows=[[1, 5, Estimate(86.4567, 0.12345), 12, 86.47], [2, 50, Estimate(84.0, 0.1, note="1 of 3 diverged"), None,
                                                             84.78]],
        title="A table", intro="What it shows.", labels={"k": "K", "nll": "NLL"}, formats={"nll": ".2f"},
        notes=["a note"], sections=[("Checks", "- [x] one\n- [ ] two\n")], digits=3)


def test_markdown_is_a_document_with_labelled_formatted_columns():
    md = _table().markdown()
    assert md == ("# A table\n\nWhat it shows.\n\n"
                  "| layers | K | NLL | units | paper |\n|---|---|---|---|---|\n"
                  "| 1 | 5 | 86.46 +- 0.12 | 12 | 86.47 |\n"
                  "| 2 | 50 | 84.00 +- 0.10 (1 of 3 diverged) | - | 84.78 |\n"
                  "\n- a note\n\n## Checks\n\n- [x] one\n- [ ] two\n")


def test_csv_holds_the_numbers_with_an_estimate_as_two_columns():
    rows = list(csv.reader(io.StringIO(_table().csv())))
    assert rows == [["layers", "k", "nll", "nll_se", "units", "paper"],
                    ["1", "5", "86.457", "0.123", "12", "86.47"],
                    ["2", "50", "84.0", "0.1", "", "84.78"]]


def test_a_plain_table_is_what_compare_printed_before():
    t = Table(["run", "fid"], [["a", 1.23456], ["b", None]])
    assert t.markdown() == "| run | fid |\n|---|---|\n| a | 1.235 |\n| b | - |\n"
    assert t.csv() == "run,fid\na,1.23456\nb,\n"
    assert Table.from_records([{"run": "a", "fid": 1.5, "x": 0}], ["run", "fid"]).rows == [["a", 1.5]]


def test_write_outputs_writes_both_files(tmp_path):
    t = _table()
    written = write_outputs(t, str(tmp_path / "out" / "table"))
    assert [p.name for p in written] == ["table.md", "table.csv"]
    assert written[0].read_text() == t.markdown() and written[1].read_text() == t.csv()
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]  # no temporary file left


def _scored() -> Table:
    return Table(["run", "fid", "fid_real", "kid", "precision", "density"],
                 [["a", 40.0, 1.5, 0.0123, 0.5, 0.9], ["b", 30.0, 1.5, 0.0456, 0.5, 1.2], ["c", None, None, None, 0.7, 1.0]],
                 directions={"fid": "lower", "kid": "lower", "precision": "higher"}, scales={"kid": 1000},
                 floors={"fid_real": "fid"}, floor_label="real vs real", floor_note="the floor")


def test_markdown_marks_directions_scales_the_best_and_prints_a_constant_floor_once():
    view = _scored().shown()
    assert view.labels == ["run", "fid ↓", "kid ×1000 ↓", "precision ↑", "density"]
    assert view.best == [set(), {1}, {0}, {2}, set()]  # density has no direction: nothing is best
    assert view.floor == [None, 1.5, None, None, None]
    md = _scored().markdown()
    assert "| a | 40 | **12.3** | 0.5 | 0.9 |" in md and "| b | **30** | 45.6 | 0.5 | 1.2 |" in md
    assert "| c | - | - | **0.7** | 1 |" in md
    assert "| *real vs real* | 1.5 |  |  |  |" in md and "fid_real" not in md
    assert "- real vs real: the floor" in md and "lower is better" in md and "kid: shown multiplied" in md
    # the CSV keeps every column and the raw numbers, unmarked
    assert _scored().csv().splitlines()[:2] == ["run,fid,fid_real,kid,precision,density", "a,40.0,1.5,0.0123,0.5,0.9"]


def test_nothing_is_best_without_two_different_values_and_a_varying_floor_stays_a_column():
    t = Table(["run", "fid", "fid_real"], [["a", 3.0, 1.0], ["b", 3.0, 2.0]], directions={"fid": "lower"},
              floors={"fid_real": "fid"})
    view = t.shown()
    assert view.best == [set(), set(), set()] and view.floor is None and view.columns == ["run", "fid", "fid_real"]
    assert "**" not in t.markdown()
    one = Table(["run", "fid"], [["a", 3.0], ["b", None]], directions={"fid": "lower"})
    assert one.shown().best == [set(), set()]
    est = Table(["run", "nll"], [["a", Estimate(90.0, 0.5)], ["b", Estimate(88.0, 0.5)]], directions={"nll": "lower"},
                scales={"nll": 10})
    assert "| b | **880 +- 5** |" in est.markdown()
    assert est.csv().splitlines()[2] == "b,88.0,0.5"


def test_large_numbers_are_whole_not_exponents():
    assert Table(["x"], [[289996.27]]).markdown().splitlines()[2] == "| 289996 |"
    assert Table(["x"], [[2.5e12]]).markdown().splitlines()[2] == "| 2.5e+12 |"


def test_parts_print_one_markdown_table_each_and_the_csv_holds_every_column():
    t = Table(["name", "a", "b", "c"], [["x", 1, 2, 3], ["y", 4, 5, 6]], parts=[("A and B", ["a", "b"]), ("C", ["c"])],
              notes=["n"])
    assert t.markdown() == ("## A and B\n\n| name | a | b |\n|---|---|---|\n| x | 1 | 2 |\n| y | 4 | 5 |\n\n"
                            "## C\n\n| name | c |\n|---|---|\n| x | 3 |\n| y | 6 |\n\n- n\n")
    assert t.csv() == "name,a,b,c\nx,1,2,3\ny,4,5,6\n"
