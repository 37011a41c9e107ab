"""`genlab reproduce iwae-table` end to end at toy size on a tiny stand-in for Fashion-MNIST (IDX files
written here): runs, table, CSV, shape checks, re-use of runs and evaluations, refusal of a mismatched run."""

from __future__ import annotations

import csv
import gzip
import json

import numpy as np
import pytest

from genlab.cli import main
from genlab.reproduce.iwae_table import grid, shape_checks


def write_idx(path, a: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, a.ndim]) + np.asarray(a.shape, dtype=">i4").tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(header + np.ascontiguousarray(a, dtype=np.uint8).tobytes()))


def fake_fashion(root, n_train=200, n_test=16):
    rng = np.random.default_rng(0)
    folder = root / "fashion-mnist"
    for split, n in (("train", n_train), ("t10k", n_test)):
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", rng.integers(0, 10, n, dtype=np.uint8))
    return root


def test_grid_trains_k1_once_per_layer_count():
    runs = grid((1, 2))
    assert len(runs) == 10 and runs.count(("vae", 1, 1)) == 1 and ("iwae", 1, 1) not in runs


def test_shape_checks_are_computed_from_the_numbers():
    good = {("iwae", 1, 1): 100.0, ("iwae", 1, 5): 99.0, ("iwae", 1, 50): 98.0, ("vae", 1, 5): 99.5, ("vae", 1, 50): 99.4}
    assert all(ok for _, ok in shape_checks(good, (1,)))
    bad = {**good, ("iwae", 1, 50): 99.2, ("vae", 1, 50): 99.1}
    assert [ok for _, ok in shape_checks(bad, (1,))] == [False, True, False]


@pytest.mark.slow
def test_reproduce_iwae_table_at_toy_size(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
    data = fake_fashion(tmp_path / "data")
    out = tmp_path / "it"
    argv = ["reproduce", "iwae-table", "--epochs", "1", "--eval-k", "4", "--eval-n", "8", "--layers", "1",
            "--data-dir", str(data), "--out", str(out), "--device", "cpu"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert printed.count("] training ") == 5
    md = (out / "table.md").read_text()
    assert "## The table's shape" in md and "86.76" in md and "K = 4 importance samples" in md
    rows = list(csv.DictReader(open(out / "table.csv")))
    assert len(rows) == 3 and all(np.isfinite(float(r["vae_nll"])) for r in rows)
    ev = json.loads((out / "l1-iwae-k5" / "evaluation.json").read_text())
    assert ev["nll"]["settings"]["k"] == 4 and ev["nll"]["settings"]["n_images"] == 8
    # a second call re-uses every run and every evaluation made with the same settings
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert printed.count("re-using") == 5 and printed.count("eval 0 s") == 5
    # --eval-n 0 means the whole test split (16 images here): evaluated once, then re-used
    all_argv = [a if a != "8" else "0" for a in argv]
    assert main(all_argv) == 0
    files = sorted(out.glob("*/evaluation.json"))
    assert len(files) == 5 and all(json.loads(f.read_text())["nll"]["settings"]["n_images"] == 16 for f in files)
    stamps = [f.stat().st_mtime_ns for f in files]
    assert main(all_argv) == 0
    assert [f.stat().st_mtime_ns for f in files] == stamps
    capsys.readouterr()
    # other settings must not re-use the runs: a clear error, nothing changed
    code = main([a if a != "1" or i != 3 else "2" for i, a in enumerate(argv)])
    err = capsys.readouterr().err
    assert code == 2 and "other settings" in err and "epochs=1 (now 2)" in err
