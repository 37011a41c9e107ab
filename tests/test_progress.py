"""Plain progress lines where stderr is not a terminal (nohup, tee, a cluster's log), and `announce`."""

import io
import re

from genlab.progress import Progress, announce, duration, every_seconds


def test_plain_lines_off_a_terminal():
    out = io.StringIO()  # not a terminal
    bar = Progress(10, "vae-digits", show=None, every=0, stream=out)
    bar.note(epoch=0.5, loss=1.23456)
    bar.update(4)
    bar.close()
    bar.close()  # once only
    lines = out.getvalue().splitlines()
    assert lines[0] == "vae-digits: 10 steps to go (a line every 0 s; GENLAB_PROGRESS_EVERY=SECONDS changes it)"
    assert re.fullmatch(r"vae-digits: step 4/10 \(40%\), epoch 0\.5, loss 1\.235, [\d.e+]+ step/s, ETA .+", lines[1])
    assert re.fullmatch(r"vae-digits: step 4/10 \(40%\), .* in all|vae-digits: step 4/10 \(40%\), .*ETA .+", lines[2])
    assert len(lines) == 3


def test_lines_are_spaced_in_time_and_silence_is_silent():
    out = io.StringIO()
    bar = Progress(100, "run", initial=20, every=3600, stream=out)
    for _ in range(80):
        bar.update()
    bar.close()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("run: 80 steps to go from step 20 ")
    assert len(lines) == 2 and lines[1].startswith("run: step 100/100 (100%)") and lines[1].endswith("in all")
    quiet = io.StringIO()
    with Progress(5, "run", show=False, every=0, stream=quiet) as bar:
        bar.update(5)
    assert quiet.getvalue() == ""


def test_announce_says_before_and_after():
    out = io.StringIO()
    with announce("training the evaluator classifier for digits once", stream=out):
        out.write("work\n")
    lines = out.getvalue().splitlines()
    assert lines[0] == "training the evaluator classifier for digits once ..."
    assert lines[1] == "work" and re.fullmatch(r"  done in \d+\.\d s", lines[2])


def test_duration_and_interval(monkeypatch):
    assert [duration(s) for s in (3.14, 42, 185, 7440)] == ["3.1 s", "42 s", "3m05s", "2h04m"]
    monkeypatch.setenv("GENLAB_PROGRESS_EVERY", "5")
    assert every_seconds() == 5
    for bad in ("x", "-1", "0"):
        monkeypatch.setenv("GENLAB_PROGRESS_EVERY", bad)
        assert every_seconds() == 30
