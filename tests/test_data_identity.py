"""Data identity: a run records a fingerprint of its data's content; resume and evaluate refuse changed
data (unless --allow-data-change) and the evaluation caches key on the content, never on a path string."""

from __future__ import annotations

import json

import numpy as np
import pytest

from genlab.cli import main
from genlab.config import DataConfig
from genlab.data import fingerprint
from genlab.data.fingerprint import data_fingerprint, data_identity, describe_change
from genlab.registry import DATASETS


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(fingerprint, "_memo", {})


def _points(path, seed=0, n=400):
    x = np.random.default_rng(seed).normal(size=(n, 2)).astype(np.float32)
    np.savez(path, x_train=x, x_test=x[:100])
    return x


def test_the_fingerprint_follows_the_content_and_is_cached_by_size_and_mtime(tmp_path, monkeypatch):
    f = tmp_path / "data.npz"
    x = _points(f)
    cfg = DataConfig(dataset="npz", path=str(f))
    first = data_fingerprint(cfg)
    assert first["splits"]["train"]["n"] == 400 and first["splits"]["test"]["n"] == 100
    # saved again with the same arrays: a new file (new mtime), the same fingerprint
    np.savez(f, x_train=x, x_test=x[:100])
    monkeypatch.setattr(fingerprint, "_memo", {})
    assert data_fingerprint(cfg)["sha256"] == first["sha256"]
    # one changed value: another fingerprint, and the message says which split changed
    x[300, 1] += 1  # a training example only
    np.savez(f, x_train=x, x_test=x[:100])
    changed = data_fingerprint(cfg)
    assert changed["sha256"] != first["sha256"]
    assert describe_change(first, changed) == "train: the same number of examples (400), other content"
    # an unchanged file is hashed once: the next process reads the digest from the cache
    calls = []
    spec = DATASETS.get("npz")
    monkeypatch.setattr(spec, "load", lambda *a: calls.append(a))
    monkeypatch.setattr(fingerprint, "_memo", {})
    assert data_fingerprint(cfg) == changed and calls == []


def test_the_same_relative_path_in_two_projects_is_two_datasets(tmp_path, monkeypatch):
    for name, seed in (("a", 1), ("b", 2)):
        (tmp_path / name).mkdir()
        _points(tmp_path / name / "data.npz", seed)
    ids = []
    for name in ("a", "b"):
        monkeypatch.chdir(tmp_path / name)
        ids.append(data_identity({"dataset": "npz", "path": "data.npz"}))
    assert ids[0]["fingerprint"] != ids[1]["fingerprint"] and "path" not in ids[0]


def test_resume_and_evaluate_refuse_changed_data_unless_allowed(tmp_path, capsys):
    f = tmp_path / "data.npz"
    x = _points(f)
    out = tmp_path / "run"
    code, _, err = run(capsys, "train", "vae", "--dataset", "npz", f"path={f}", "--out", out, "--steps", 4,
                       "hidden=8", "latent_dim=2", "batch_size=50")
    assert code == 0, err
    recorded = json.loads((out / "config.json").read_text())["data_fingerprint"]
    assert recorded == data_fingerprint(DataConfig(dataset="npz", path=str(f)))
    assert run(capsys, "evaluate", out, "--metrics", "reconstruction")[0] == 0

    np.savez(f, x_train=x[:300], x_test=x[:100])  # 100 training examples fewer
    before = (out / "metrics.jsonl").read_text()
    code, _, err = run(capsys, "resume", out, "--steps", 6)
    assert code == 2 and "data changed" in err and "400 examples then, 300 now" in err
    assert "--allow-data-change" in err and (out / "metrics.jsonl").read_text() == before
    code, _, err = run(capsys, "evaluate", out, "--metrics", "reconstruction")
    assert code == 2 and "data changed" in err

    assert run(capsys, "evaluate", out, "--metrics", "reconstruction", "--allow-data-change")[0] == 0


def test_a_split_known_on_one_side_only_is_no_change():
    from genlab.data.fingerprint import changed

    train = {"n": 10, "sha256": "a"}
    then = {"sha256": "x", "splits": {"train": train}}  # the test files were not here at training
    assert not changed(then, {"sha256": "y", "splits": {"train": train, "test": {"n": 5, "sha256": "b"}}})
    assert changed(then, {"sha256": "z", "splits": {"train": {"n": 10, "sha256": "c"}}})
