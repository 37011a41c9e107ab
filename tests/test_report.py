"""Report pages (issue 18) without a browser: what each page holds, that it is one self-contained file, the
exact reproduce command, the trainer's hook, studies, the CLI, --serve and --tensorboard.

The pages in a real browser (images decode, sorting, the slider, screenshots) are in test_report_browser.py."""

from __future__ import annotations

import base64
import io
import json
import re
import shlex
import threading
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from typing import Optional

import numpy as np
import pytest

import genlab.models  # noqa: F401  (registration)
from genlab.api import make_configs, train
from genlab.cli import build_parser, main, train_overrides
from genlab.config import to_dict
from genlab.registry import MODELS
from genlab.report import live
from genlab.report.command import train_command
from genlab.report.comparison import write_comparison_report
from genlab.report.html import checklist, markdown
from genlab.report.read import metric_rows, read_run
from genlab.report.runpage import write_run_report
from genlab.report.serve import make_server
from genlab.report.study import write_study_report
from genlab.rundir import RunDir

TINY = {"steps": "40", "epochs": "0", "log_every": "5", "sample_every": "1", "batch_size": "256"}


def tiny_run(path: Path, model: str = "vae", dataset: str = "digits", **over) -> Path:
    small = {"vae": {"latent_dim": "2", "hidden": "16"}, "dcgan": {}, "gan": {"hidden": "16,16"}}
    train(model, path, make_configs(model, dataset, {**TINY, **small.get(model, {}), **over}), progress=False)
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return {"vae": tiny_run(root / "vae"), "gan": tiny_run(root / "gan", "gan", "digits", seed="1")}


class Page(HTMLParser):
    """The images, links, scripts and ids of a page, and its visible text."""

    def __init__(self, text: str):
        super().__init__()
        self.images, self.links, self.scripts, self.ids, self.text = [], [], [], [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a)
        if tag in ("a", "link"):
            self.links.append(a.get("href", ""))
        if tag == "script":
            self.scripts.append(a)
        if "id" in a:
            self.ids.append(a["id"])

    def handle_data(self, data):
        self.text.append(data)


def read_page(path: Path) -> tuple[str, Page]:
    text = path.read_text()
    return text, Page(text)


def assert_self_contained(text: str, page: Page) -> None:
    """One file: every picture embedded with alt text, no script or style fetched, no URL but page links."""
    from PIL import Image

    assert page.images and all(im.get("alt") for im in page.images)
    for im in page.images:
        head, data = im["src"].split(",", 1)
        assert head in ("data:image/png;base64", "data:image/gif;base64")
        Image.open(io.BytesIO(base64.b64decode(data))).verify()
    assert all("src" not in s for s in page.scripts)
    assert "<link" not in text and "@import" not in text and "url(http" not in text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)
    assert len(page.ids) == len(set(page.ids))


# ----------------------------------------------------------------------------------------------------
# the run page


def test_training_writes_the_run_page_with_everything_the_run_holds(runs):
    path = runs["vae"]
    text, page = read_page(path / "report.html")  # written by the trainer's hook and after the pictures
    assert_self_contained(text, page)
    visible = " ".join(page.text)
    assert "finished" in visible and "Kingma" in visible and "latent_dim" in visible
    view = read_run(path)
    assert len(view.epochs) >= 2 and set(view.terms) >= {"vae_loss", "kl", "rec"}
    frames = json.loads(re.search(r'id="frames-data">(.*?)</script>', text).group(1))
    assert frames["labels"] == [f"epoch {e}" for e, _ in view.epochs] + ["final"]
    assert all(f["src"].startswith("data:image/png") for f in frames["panels"][0])
    curves = json.loads(re.search(r'id="curves-data">(.*?)</script>', text).group(1))
    loss = next(s for s in curves["groups"]["training terms"] if s["name"] == "vae_loss")
    rows = [r for r in RunDir(path).read_metrics()]
    assert loss["x"]["step"] == [r["step"] for r in rows] and loss["y"] == pytest.approx([r["vae_loss"] for r in rows])
    for name in ("reconstructions", "interpolations", "latent"):
        assert any(im["alt"].startswith(name.capitalize()) for im in page.images), name


def test_the_page_shows_every_stored_evaluation_with_its_settings_se_and_floor(runs, tmp_path):
    import shutil

    path = shutil.copytree(runs["vae"], tmp_path / "vae")
    (path / "evaluation.json").write_text(json.dumps({
        "nll": {"nll_nats": 97.25, "nll_se": 0.5, "bits_per_dim": 0.18, "settings": {"k": 5000, "split": "test"}},
        "fid": {"fid": 12.5, "fid_real": 1.25, "settings": {"features": "classifier", "n_fake": 5000}},
        "kid": {"kid": 0.01, "kid_std": 0.002, "kid_real": 0.0005, "settings": {"subsets": 100}}}))
    text, page = read_page(write_run_report(path))
    visible = " ".join(page.text)
    for word in ("97.25", "0.5", "12.5", "1.25", "real vs real (floor)", "± SE", "5000", "classifier", "subsets"):
        assert word in visible, word


def test_metric_rows_pair_each_number_with_its_se_spread_and_floor():
    rows = metric_rows({"nll_nats": 90.0, "nll_se": 0.3, "bits_per_dim": 0.2, "settings": {}})
    assert rows == [{"key": "nll_nats", "value": 90.0, "se": 0.3, "std": None, "floor": None},
                    {"key": "bits_per_dim", "value": 0.2, "se": None, "std": None, "floor": None}]
    rows = metric_rows({"kid": 0.01, "kid_std": 0.002, "kid_real": 0.001, "mse": 0.5, "mse_se": 0.1})
    assert rows == [{"key": "kid", "value": 0.01, "se": None, "std": 0.002, "floor": 0.001},
                    {"key": "mse", "value": 0.5, "se": 0.1, "std": None, "floor": None}]
    assert metric_rows({"recall_real": 0.8}) == [{"key": "recall_real", "value": 0.8, "se": None, "std": None,
                                                   "floor": None}]


def test_a_failed_run_says_so_and_why(runs, tmp_path):
    import shutil

    path = shutil.copytree(runs["gan"], tmp_path / "gan")
    RunDir(path).write_status("failed", 17, "training stopped at step 18: the gen loss is nan")
    text, page = read_page(write_run_report(path))
    assert 'role="alert"' in text and "This run failed at step 17" in text and "the gen loss is nan" in text
    run = RunDir(path)
    with run.acquire():  # 'running' is true only while a live process holds the run's lock
        run.write_status("running", 30)
        text, _ = read_page(write_run_report(path))
    assert 'data-reload="30"' in text and 'id="autoreload"' in text
    text, _ = read_page(write_run_report(path))  # the writer is gone: crashed, no reloading
    assert "crashed" in text and 'data-reload="30"' not in text


def test_eval_rows_in_metrics_jsonl_are_curves_of_their_own(runs, tmp_path):
    import shutil

    path = shutil.copytree(runs["vae"], tmp_path / "vae")
    with open(path / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"step": 20, "epoch": 1.0, "metric": "fid", "value": 80.0, "settings": {"n": 100}}) + "\n")
        f.write(json.dumps({"step": 40, "epoch": 2.0, "metric": "fid", "value": 60.0, "settings": {"n": 100}}) + "\n")
    view = read_run(path)
    assert view.evals == {"fid": {"fid": {"step": [20, 40], "epoch": [1.0, 2.0], "y": [80.0, 60.0]}}}
    assert "value" not in view.terms and "fid" not in view.terms
    text, _ = read_page(write_run_report(path))
    assert 'data-chart="evals-data"' in text and "Evaluations during training" in text


def test_the_hook_rewrites_the_page_at_most_so_often_but_always_at_the_end(runs, tmp_path):
    import shutil

    path = shutil.copytree(runs["vae"], tmp_path / "vae")
    page = path / "report.html"
    page.unlink()
    live.refresh_run_report(path)
    assert page.exists()
    page.unlink()
    live.refresh_run_report(path)  # a moment later: skipped
    assert not page.exists()
    live.refresh_run_report(path, final=True)
    assert page.exists()


def test_the_hook_warns_once_when_the_page_cannot_be_written(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("genlab.report.runpage.read_run", lambda p: 1 / 0)
    live.refresh_run_report(tmp_path, final=True)
    live.refresh_run_report(tmp_path, final=True)
    err = capsys.readouterr().err
    assert err.count("warning: could not write") == 1 and "ZeroDivisionError" in err and "genlab report" in err


# ----------------------------------------------------------------------------------------------------
# the reproduce command


def _round_trip(cfgs: dict, model: str, data_info: Optional[dict] = None) -> str:
    saved = {"model": model, "preset": cfgs["preset"], "train": to_dict(cfgs["train"]), "data": to_dict(cfgs["data"]),
             "model_config": to_dict(cfgs["model"]), **({"data_info": data_info} if data_info else {})}
    command, notes = train_command(saved, "runs/again")
    assert command and not notes
    words = shlex.split(command)
    assert words[:3] == ["genlab", "train", model]
    args, extra = build_parser().parse_known_args(words[1:])
    again = make_configs(args.model, args.dataset, train_overrides(args, extra))
    assert again["preset"] == cfgs["preset"] and args.out == "runs/again"
    for section in ("train", "data", "model"):
        assert to_dict(again[section]) == to_dict(cfgs[section]), (command, section)
    return command


def test_the_reproduce_command_of_own_data_names_only_what_differs_from_its_kinds_defaults(tmp_path):
    """A run on the user's npz points took the model's points defaults: the command need not repeat them."""
    path = str(tmp_path / "p.npz")
    np.savez(path, x=np.random.default_rng(0).normal(size=(40, 2)).astype(np.float32))
    command = _round_trip(make_configs("fgan", "npz", {"path": path, "steps": "5"}), "fgan",
                          {"kind": "points", "shape": [2]})
    assert "divergence" not in command and "lr_g" not in command and "critic_penalty" not in command, command


@pytest.mark.parametrize("model", MODELS.names())
def test_the_reproduce_command_gives_the_same_config_for_every_model(model):
    cls = MODELS.get(model)
    dataset = "digits-inverted" if cls.domains == 2 else "digits"
    _round_trip(make_configs(model, dataset, {"steps": "7", "seed": "3", "batch_size": "16"}), model)
    points = "ring8-grid25" if cls.domains == 2 else "ring8"
    _round_trip(make_configs(model, points, {"epochs": "2", "lr_schedule": "linear"}), model)
    for preset in cls.named_presets:
        _round_trip(make_configs(model, dataset, {"preset": preset, "epochs": "3"}), model)


def test_the_reproduce_command_carries_tuples_bools_floats_and_data_fields():
    cfgs = make_configs("vae", "digits", {"hidden": "64,32", "latent_dim": "3", "learn_sigma": "true",
                                          "lr": "0.00031", "binarize": "dynamic", "subset": "500", "device": "cpu",
                                          "steps": "11", "epochs": "4"})
    _round_trip(cfgs, "vae")
    command, _ = train_command({"model": "vae", "preset": None, "train": to_dict(cfgs["train"]),
                                "data": to_dict(cfgs["data"]), "model_config": to_dict(cfgs["model"])}, "x")
    assert "hidden=64,32" in command and "learn_sigma=true" in command and "--steps 11" in command
    assert "epochs=4" in command and "--device cpu" in command and "batch_size" not in command


def test_a_run_this_genlab_cannot_train_says_so():
    command, notes = train_command({"model": "nosuch", "data": {"dataset": "digits"}}, "x")
    assert command is None and "no model 'nosuch'" in notes[0]
    cfgs = make_configs("gan", "digits", {})
    saved = {"model": "gan", "preset": None, "train": {**to_dict(cfgs["train"]), "old_field": 1},
             "data": to_dict(cfgs["data"]), "model_config": to_dict(cfgs["model"])}
    command, notes = train_command(saved, "x")
    assert command and "old_field" in notes[0]


# ----------------------------------------------------------------------------------------------------
# comparison, studies, markdown


def test_the_comparison_page_flags_differing_settings_and_shows_every_run(runs, tmp_path):
    out = write_comparison_report([runs["vae"], runs["gan"]], tmp_path / "cmp" / "both.html")
    text, page = read_page(out)
    assert_self_contained(text, page)
    heads = re.findall(r'<th scope="col" class="differs"[^>]*>([^<]*)</th>', text)
    assert "seed" in heads and "model.latent_dim" not in heads  # the GAN has no latent_dim: not a difference
    links = re.findall(r'<td[^>]*><a href="([^"]+)">', text)  # each run's own page, relative to this one
    assert [link.split("/")[-2:] for link in links] == [["vae", "report.html"], ["gan", "report.html"]]
    assert all(link.startswith("..") for link in links)
    frames = json.loads(re.search(r'id="frames-data">(.*?)</script>', text).group(1))
    assert frames["names"] == [str(runs["vae"]), str(runs["gan"])] and frames["labels"][-1] == "final"
    curves = json.loads(re.search(r'id="curves-data">(.*?)</script>', text).group(1))
    assert [s["name"] for s in curves["groups"]["vae_loss"]] == [str(runs["vae"])]
    assert {"disc_loss", "gen_loss"} <= set(curves["groups"])
    with pytest.raises(Exception, match="named twice"):
        write_comparison_report([runs["vae"], runs["vae"]], tmp_path / "x.html")


STUDY_MD = """# A table reproduced by genlab: digits, preset quick

Test numbers, mean +- standard error.

| model | FID | paper FID |
|---|---|---|
| vae | 12.5 +- 0.3 | 10.1 |
| gan | 3.25 +- 0.1 | 2.0 |
| *GAN (2014)* (published) | 4.0 | |
| real vs real (floor) | 0.5 | |

## Checks (computed from the rows above)

- [x] the GAN has the better FID (3.25 < 12.5)
- [ ] the VAE matches the paper (12.5 against 10.1)

## Settings

- epochs 3, `batch 64`, **seed 0**
"""


def test_a_study_page_shows_its_table_checks_figures_and_runs(runs, tmp_path, capsys):
    import shutil

    folder = tmp_path / "study"
    shutil.copytree(runs["vae"], folder / "vae")
    shutil.copytree(runs["gan"], folder / "runs" / "gan")
    shutil.copy(runs["vae"] / "samples" / "final.png", folder / "samples.png")
    args = build_parser().parse_args(["reproduce", "mode-collapse", "--out", str(folder)])
    args.command_line = f"genlab reproduce mode-collapse --out {folder}"
    out = write_study_report(folder, STUDY_MD, [(folder / "samples.png", "final samples of each model")], args)
    text, page = read_page(out)
    assert_self_contained(text, page)
    assert "<h1>A table reproduced by genlab: digits, preset quick</h1>" in text
    assert "1 of 2 checks pass" in text and text.count('class="check pass"') == 1
    assert text.count('class="check fail"') == 1
    assert '<tr class="published"><td' in text and '<tr class="reference">' in text and 'th scope="col" class="published"' in text
    assert 'data-sort="12.5"' in text and "<code>batch 64</code>" in text and "<strong>seed 0</strong>" in text
    assert 'href="vae/report.html"' in text and 'href="runs/gan/report.html"' in text
    assert any(im["alt"] == "final samples of each model" for im in page.images)
    assert args.command_line in text and "preset" in " ".join(page.text)
    # `genlab report FOLDER` writes it again from report.json
    out.unlink()
    assert main(["report", str(folder)]) == 0
    assert out.exists() and "1 of 2 checks pass" in out.read_text()


def test_markdown_reads_genlab_tables_and_checklists():
    html = markdown("| a | b |\n|---|---|\n| x | 2.5 +- 1 |\n\ntext *em* and `c<d`\n- [x] ok\n- [ ] no")
    assert '<td data-sort="x">x</td>' in html and 'class="num" data-sort="2.5"' in html
    assert "<em>em</em>" in html and "<code>c&lt;d</code>" in html
    assert checklist("- [x] a\n- [ ] b\n- c") == [("a", True), ("b", False)]
    assert "<script" not in markdown("<script>alert(1)</script>")


# ----------------------------------------------------------------------------------------------------
# the command line


def test_report_command_line(runs, tmp_path, capsys):
    assert main(["report", str(runs["vae"]), "--out", str(tmp_path / "one.html")]) == 0
    assert (tmp_path / "one.html").exists() and "wrote" in capsys.readouterr().out
    for argv, message in (([str(runs["vae"]), str(runs["gan"])], "--out FILE.html"),
                          ([str(runs["vae"]), "--out", str(tmp_path / "x.md")], "an .html file"),
                          ([str(tmp_path)], "neither a run directory"),
                          ([str(tmp_path / "nosuch")], "does not exist")):
        assert main(["report", *argv]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(["report", str(runs["vae"]), str(runs["gan"]), "--out", str(tmp_path / "c.html")]) == 0
    assert "Comparison of 2 runs" in (tmp_path / "c.html").read_text()


@pytest.mark.slow
def test_compare_html_writes_the_comparison_page(runs, tmp_path, capsys):
    import shutil

    a, b = (shutil.copytree(runs[n], tmp_path / n) for n in ("vae", "gan"))
    for run, value in ((a, 50.0), (b, 40.0)):
        (run / "evaluation.json").write_text(json.dumps({"fid": {"fid": value, "fid_real": 1.5,
                                                                    "settings": {"features": "raw"}}}))
    assert main(["compare", str(a), str(b), "--html"]) == 2
    assert "--out" in capsys.readouterr().err
    assert main(["compare", str(a), str(b), "--out", str(tmp_path / "t"), "--html"]) == 0
    text = (tmp_path / "t.html").read_text()
    assert 'data-sort="50.0"' in text and 'data-sort="40.0"' in text and "features=raw" in text
    # as `genlab compare` prints it: the direction in the header, the best in bold
    assert 'title="lower is better">fid ↓</th>' in text and 'class="num best" data-sort="40.0"><strong>40</strong>' in text
    assert ">fid_real</th>" not in text and "Real vs real (the floor" in text and "fid ↓ 1.5" in text  # once


def test_serve_answers_with_the_page_written_again(runs, tmp_path):
    count = []

    def render():
        count.append(1)
        return write_run_report(runs["vae"], tmp_path / "page.html")

    server = make_server(render, 0)
    assert server.server_address[0] == "127.0.0.1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        for _ in range(2):
            with urllib.request.urlopen(url + "/") as r:
                assert r.status == 200 and b"<title>" in r.read()
        assert len(count) == 2
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(url + "/../config.json")
        assert e.value.code == 404
    finally:
        server.shutdown()
        server.server_close()


def test_tensorboard_events_read_back(runs, tmp_path):
    pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed: pip install 'genlab[tensorboard]'")
    import shutil

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    path = shutil.copytree(runs["vae"], tmp_path / "vae")
    assert main(["report", str(path), "--tensorboard"]) == 0
    assert main(["report", str(path), "--tensorboard"]) == 0  # written again: replaced, not doubled
    folder = path / "tensorboard"
    assert len(list(folder.glob("events.out.tfevents.*"))) == 1
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    acc.Reload()
    rows = RunDir(path).read_metrics()
    events = acc.Scalars("train/vae_loss")
    assert [e.step for e in events] == [r["step"] for r in rows]
    assert [e.value for e in events] == pytest.approx([r["vae_loss"] for r in rows], rel=1e-6)
    view = read_run(path)
    images = acc.Images("samples")
    assert len(images) == len(view.epochs) and all(im.width > 0 and im.height > 0 for im in images)
    assert [im.step for im in images] == sorted(im.step for im in images) and images[-1].step <= rows[-1]["step"]
    assert acc.Images("samples/final")[0].step == rows[-1]["step"]


def test_tensorboard_missing_is_a_one_line_error(runs, capsys, monkeypatch):
    import builtins

    real = builtins.__import__

    def no_tensorboard(name, *a, **k):
        if name.startswith("torch.utils.tensorboard"):
            raise ImportError("no tensorboard")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    assert main(["report", str(runs["vae"]), "--tensorboard"]) == 2
    assert "pip install 'genlab[tensorboard]'" in capsys.readouterr().err


@pytest.mark.slow
def test_every_reproduction_writes_its_page(tmp_path, capsys):
    out = tmp_path / "mc"
    assert main(["reproduce", "mode-collapse", "--models", "gan-lr2e-4,gan", "--datasets", "ring8", "--steps", "3",
                 "--seeds", "1", "--jobs", "1", "--out", str(out)]) == 0
    text, page = read_page(out / "report.html")
    assert_self_contained(text, page)
    assert "Mode collapse on 2-D mixtures" in text and 'class="check' in text and '<tr class="published">' in text
    assert "genlab reproduce mode-collapse --models gan-lr2e-4,gan" in text
    assert 'href="runs/gan-ring8-s0/report.html"' in text
    assert sum(im["alt"].startswith("Figure samples-") for im in page.images) == 2
