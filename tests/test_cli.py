"""End to end through the `genlab` command: one toy run per registered model, and every bad-input message."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from genlab.cli import main
import genlab.models  # noqa: F401  (registers the models the tests run over)
from genlab.registry import MODELS

# small networks so that each end-to-end run takes a second or two
SMALL = {"vae": ["latent_dim=2", "hidden=16"], "gan": ["hidden=16,16", "noise_dim=4"],
         **{m: ["latent_dim=2", "hidden=16,16"] for m in ("vaegan", "aae", "bigan", "alphagan")},
         "cyclegan": ["hidden=16,16", "width=8", "blocks=1"]}
DATA = {"points": ("ring8", ["subset=512"], (2,)), "image": ("digits", [], (1, 8, 8))}
TWO_DOMAINS = {"points": ("ring8-grid25", ["subset=512"], (2,)), "image": ("digits-inverted", [], (1, 8, 8))}


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(DATA))
@pytest.mark.parametrize("model", MODELS.names())
def test_train_resume_sample_end_to_end(tmp_path, capsys, model, kind):
    dataset, extra, shape = (TWO_DOMAINS if MODELS.get(model).domains == 2 else DATA)[kind]
    out = tmp_path / "run"
    code, stdout, err = run(capsys, "train", model, "--dataset", dataset, "--out", out, "--steps", 12,
                            "--seed", 3, "log_every=4", "batch_size=32", *extra, *SMALL.get(model, []))
    assert code == 0, err
    assert str(out) in stdout
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model"] == model and cfg["seed"] == 3 and cfg["train"]["steps"] == 12
    assert cfg["data"]["dataset"] == dataset and cfg["data_info"]["shape"] == list(shape)
    if cfg["model_config"].get("net") == "auto":  # config.json says what "auto" became
        assert cfg["resolved"]["model"]["net"] in ("mlp", "conv")
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [4, 8, 12]
    assert all({"step", "epoch", "time"} <= set(r) and any(k.endswith("_loss") for k in r) for r in rows)
    assert (out / "samples" / "final.png").stat().st_size > 0
    assert (out / "samples" / "curves.png").stat().st_size > 0
    assert (out / "checkpoints" / "step-00000012" / "model.safetensors").exists()

    code, stdout, err = run(capsys, "resume", out, "--steps", 16)
    assert code == 0, err
    assert "step 12" in stdout and "step 16" in stdout
    assert json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])["step"] == 16

    npy, png = tmp_path / "s.npy", tmp_path / "s.png"
    code, stdout, err = run(capsys, "sample", out, "--n", 10, "--out", npy, "--grid", png, "--seed", 1)
    assert code == 0, err
    x = np.load(npy)
    assert x.shape == (10, *shape) and x.dtype == np.float32 and np.isfinite(x).all()
    if kind == "image":
        assert x.min() >= 0 and x.max() <= 1
    assert png.stat().st_size > 0
    # the same seed gives the same samples
    run(capsys, "sample", out, "--n", 10, "--out", tmp_path / "t.npy", "--seed", 1)
    assert np.array_equal(x, np.load(tmp_path / "t.npy"))


def test_models_and_datasets_are_listed(capsys):
    code, out, _ = run(capsys, "models")
    assert code == 0 and all(name in out for name in MODELS.names())
    code, out, _ = run(capsys, "datasets")
    assert code == 0
    for name in ("digits", "ring8", "grid25", "mnist", "fashion-mnist", "cifar10", "folder", "npz"):
        assert name in out
    assert "present" in out


@pytest.mark.slow
def test_demo_quick(tmp_path, capsys):
    code, out, err = run(capsys, "demo", "--out", tmp_path / "demo", "--quick")
    assert code == 0, err
    for name in ("vae-digits", "gan-ring8", "gan-digits"):
        assert (tmp_path / "demo" / name / "samples" / "final.png").exists()
        assert (tmp_path / "demo" / name / "samples" / "curves.png").exists()
    # running it again replaces the demo folder, and only a demo folder
    assert run(capsys, "demo", "--out", tmp_path / "demo", "--quick")[0] == 0
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "precious.txt").write_text("keep me")
    code, _, err = run(capsys, "demo", "--out", tmp_path / "other", "--quick")
    assert code == 2 and "not a genlab demo folder" in err
    assert (tmp_path / "other" / "precious.txt").exists()


def _train_args(tmp_path, *extra):
    return ["train", "vae", "--dataset", "digits", "--out", tmp_path / "r", "--steps", 2, "hidden=8", *extra]


BAD_INPUT = [
    (["train", "nosuchmodel", "--dataset", "digits", "--out", "{tmp}/r"], ["unknown model 'nosuchmodel'", "vae", "gan"]),
    (["train", "vae", "--dataset", "nosuchdata", "--out", "{tmp}/r"], ["unknown dataset 'nosuchdata'", "digits"]),
    (["train", "vae", "--dataset", "digits", "--out", "{tmp}/r", "latnt_dim=3"],
     ["unknown config key 'latnt_dim'", "did you mean 'latent_dim'", "model.latent_dim", "train.batch_size"]),
    (["train", "vae", "--dataset", "digits", "--out", "{tmp}/r", "latent_dim=abc"], ["'latent_dim'", "integer"]),
    (["train", "vae", "--dataset", "digits", "--out", "{tmp}/r", "likelihood=poisson"], ["bernoulli", "gaussian"]),
    (["train", "vae", "--dataset", "digits", "--out", "{tmp}/r", "batch_size=0"], ["'batch_size'", ">= 1"]),
    (["train", "vae", "--dataset", "digits", "--out", "{tmp}/r", "batch_size=5000"], ["larger than the dataset"]),
    (["train", "vae", "--dataset", "ring8", "--out", "{tmp}/r", "binarize=dynamic"], ["binarize", "points"]),
    (["train", "vae", "--dataset", "digits", "--out", "{tmp}/r", "--latent_dim"], ["needs a value"]),
    (["resume", "{tmp}/nothing"], ["does not exist"]),
    (["sample", "{tmp}/nothing", "--out", "{tmp}/x.npy"], ["does not exist"]),
]


@pytest.mark.parametrize("argv,needles", BAD_INPUT, ids=[" ".join(a[:2] + a[-1:]) for a, _ in BAD_INPUT])
def test_bad_input_gets_a_clear_message_and_no_run_directory(tmp_path, capsys, argv, needles):
    code, _, err = run(capsys, *[a.format(tmp=tmp_path) for a in argv])
    assert code == 2
    assert err.startswith("genlab: error: ") and "Traceback" not in err
    for needle in needles:
        assert needle in err
    assert not (tmp_path / "r").exists()  # nothing half-made


def test_an_existing_run_directory_is_refused_unless_overwritten(tmp_path, capsys):
    assert run(capsys, *_train_args(tmp_path))[0] == 0
    code, _, err = run(capsys, *_train_args(tmp_path))
    assert code == 2 and "already exists" in err and "--overwrite" in err
    assert run(capsys, *_train_args(tmp_path, "--overwrite"))[0] == 0
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    code, _, err = run(capsys, "train", "vae", "--dataset", "digits", "--out", other, "--steps", 1, "--overwrite")
    assert code == 2 and "not a genlab run directory" in err and (other / "notes.txt").exists()


def test_sample_needs_a_destination_and_a_checkpoint(tmp_path, capsys):
    assert run(capsys, *_train_args(tmp_path))[0] == 0
    code, _, err = run(capsys, "sample", tmp_path / "r")
    assert code == 2 and "--out FILE.npy" in err
    code, _, err = run(capsys, "sample", tmp_path / "r", "--out", tmp_path / "x.txt")
    assert code == 2 and ".npy" in err
    for ckpt in (tmp_path / "r" / "checkpoints").iterdir():
        for f in ckpt.iterdir():
            f.unlink()
        ckpt.rmdir()
    code, _, err = run(capsys, "sample", tmp_path / "r", "--out", tmp_path / "x.npy")
    assert code == 2 and "no checkpoint" in err


def test_resume_of_a_folder_that_is_not_a_run(tmp_path, capsys):
    (tmp_path / "plain").mkdir()
    code, _, err = run(capsys, "resume", tmp_path / "plain")
    assert code == 2 and "not a genlab run directory" in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_cuda_without_a_gpu_is_a_clear_error(tmp_path, capsys):
    code, _, err = run(capsys, *_train_args(tmp_path, "--device", "cuda"))
    assert code == 2 and "no CUDA GPU" in err


def _subcommands() -> list[list[str]]:
    from genlab.cli import COMMANDS
    from genlab.reproduce.catalog import REPRODUCTIONS

    return [[c] for c in COMMANDS] + [["reproduce", r] for r in REPRODUCTIONS.names()]


@pytest.mark.parametrize("argv", _subcommands(), ids=" ".join)
def test_every_command_prints_its_help(capsys, argv):
    with pytest.raises(SystemExit) as e:
        main([*argv, "--help"])
    out, _ = capsys.readouterr()
    assert e.value.code == 0 and "usage: genlab" in out
