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
