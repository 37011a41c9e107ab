"""InfoGAN: its information term (known answers), its traversals, the codes metric, and the known-answer
training check: on digits the categorical code's clusters match the classes well above chance, and the
information bound approaches log K."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from genlab.cli import main
from genlab.data.base import DataInfo
from genlab.errors import ConfigError
from genlab.metrics import classifier  # noqa: F401
from genlab.metrics.codes import cluster_purity
from genlab.models.infogan import Codes, InfoGAN, InfoGANConfig

INFO = DataInfo("toy", "image", (1, 8, 8), 10, "pm1", False)


def small(**kw) -> InfoGAN:
    torch.manual_seed(0)
    cfg = InfoGANConfig(noise_dim=4, hidden=(16,), hidden_dim=16, q_hidden=(8,), categories=3, continuous=2, **kw)
    return InfoGAN(cfg, INFO).eval()


def test_config_refuses_what_infogan_cannot_do():
    with pytest.raises(ConfigError, match="categories"):
        InfoGANConfig(categories=1)
    with pytest.raises(ConfigError, match="needs a code"):
        InfoGANConfig(categories=0, continuous=0)
    with pytest.raises(ConfigError, match="pack"):
        InfoGANConfig(pack=2)


def test_information_term_known_answers():
    model = small()
    codes = Codes(torch.zeros(5, 4), torch.tensor([0, 1, 2, 0, 1]), torch.rand(5, 2) * 2 - 1)
    uniform = torch.cat([torch.zeros(5, 3), codes.continuous], dim=1)  # uniform Q over categories, exact means
    info = model.information(uniform, codes)
    assert info["mi_cat"].item() == pytest.approx(0.0, abs=1e-6)  # Q knows nothing: the bound is 0
    # exact means under a unit-variance Q: log Q = -log(2 pi) / 2 per code, plus the prior's entropy log 2
    assert info["mi_cont"].item() == pytest.approx(2 * (math.log(2) - 0.5 * math.log(2 * math.pi)), abs=1e-6)
    sure = torch.cat([torch.nn.functional.one_hot(codes.category, 3) * 50.0, codes.continuous], dim=1)
    assert model.information(sure, codes)["mi_cat"].item() == pytest.approx(math.log(3), abs=1e-6)  # the maximum
    # the term the losses minimize is -L_I up to constants: CE + cont_weight * NLL of the continuous codes
    nll = model.information(sure, codes)["info_nll"].item()
    assert nll == pytest.approx(0.0 + 2 * 0.5 * math.log(2 * math.pi), abs=1e-4)
    learned = small(cont_std="learned")
    assert learned.discriminator.q_head.net[-2].out_features == 3 + 2 * 2  # logits, means, log-stds


def test_traversals_vary_one_code_along_each_row():
    model = small()
    panels = model.traversals(rows=4, steps=5, generator=torch.Generator().manual_seed(0))
    assert [t.split(":")[0] for t, _ in panels] == ["categorical code", "continuous code 1", "continuous code 2"]
    cat = panels[0][1]
    assert tuple(cat.shape) == (4, 3, 1, 8, 8) and tuple(panels[1][1].shape) == (4, 5, 1, 8, 8)
    assert not torch.allclose(cat[0, 0], cat[0, 1]) and not torch.allclose(cat[0, 0], cat[1, 0])
    # the middle of a continuous traversal (value 0) is the row's draw with that code set to 0
    base = model.draw(4, torch.Generator().manual_seed(0))
    cont = base.continuous.clone()
    cont[:, 0] = 0.0
    torch.testing.assert_close(panels[1][1][:, 2], model.G(base._replace(continuous=cont)))


def test_cluster_purity_known_answers():
    labels = np.array([0, 0, 1, 1, 2, 2])
    assert cluster_purity(np.array([5, 5, 3, 3, 0, 0]), labels) == 1.0  # any naming of the clusters
    assert cluster_purity(np.zeros(6, dtype=int), labels) == pytest.approx(2 / 6)  # one cluster: the largest class
    assert cluster_purity(np.array([0, 0, 0, 1, 1, 1]), labels) == pytest.approx(4 / 6)


@pytest.mark.slow
def test_infogan_finds_the_digit_classes_and_the_information_bound(tmp_path, capsys, monkeypatch):
    """Known answer on the embedded digits at infogan's defaults for small images (one 128-unit layer, G at Adam
    1e-3), 3 seeds: the categorical code's clusters of the test digits are far purer than chance, and log K - CE
    approaches log K (its maximum)."""
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
    purity, chance, mi = [], [], []
    for seed in range(3):
        run = tmp_path / f"info{seed}"
        assert main(["train", "infogan", "--dataset", "digits", "--steps", "1500", "--seed", str(seed),
                     "--out", str(run), "sample_every=0"]) == 0
        assert main(["evaluate", str(run), "--metrics", "codes"]) == 0
        codes = json.loads((run / "evaluation.json").read_text())["codes"]
        purity.append(codes["purity"])
        chance.append(codes["purity_chance"])
        mi.append(codes["mi_cat"])
    capsys.readouterr()
    # measured: purity 0.42 and 0.40 against chance 0.19 and 0.20 (seeds 0, 1); one purity's SE is about 0.03
    assert min(p - c for p, c in zip(purity, chance)) > 0.1
    assert min(mi) > 0.9 * math.log(10)  # measured: 2.29 of log 10 = 2.30


@pytest.mark.slow
def test_infogan_through_the_cli(tmp_path, capsys):
    run = tmp_path / "info"
    assert main(["train", "infogan", "--dataset", "color-digits", "--steps", "20", "--out", str(run),
                 "sample_every=0"]) == 0
    assert (run / "samples" / "traversals.png").stat().st_size > 0  # drawn at the end of training
    assert main(["pictures", str(run)]) == 0
    assert "traversals.png" in capsys.readouterr().out
    assert main(["evaluate", str(run), "--metrics", "codes", "--n", "100"]) == 0
    codes = json.loads((run / "evaluation.json").read_text())["codes"]
    assert 0 < codes["purity"] <= 1 and codes["mi_max"] == pytest.approx(math.log(10))
    assert main(["evaluate", str(run), "--metrics", "codes", "--n", "100"]) == 0
    gan = tmp_path / "gan"
    assert main(["train", "gan", "--dataset", "digits", "--steps", "2", "--out", str(gan)]) == 0
    assert main(["evaluate", str(gan), "--metrics", "codes"]) != 0  # not an InfoGAN: a clear error
    assert "categorical code" in capsys.readouterr().err
