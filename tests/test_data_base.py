"""The in-memory data layer: the batch stream, binarization, value ranges, subsets and the built-in data."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch

import genlab.data  # noqa: F401  (registers the built-in datasets)
from genlab.config import DataConfig
from genlab.data.base import BatchStream, DataInfo, TensorData, load_data
from genlab.data.toy import grid25_modes, ring8_modes
from genlab.errors import DataError


def indexed_points(n: int) -> TensorData:
    """Points whose single coordinate is their index, so that a batch says which examples it holds."""
    x = torch.arange(n, dtype=torch.float32)[:, None]
    info = DataInfo("idx", "points", (1,), 0, "01", False)
    return TensorData(x, torch.arange(n), info)


def probs_images(n: int, side: int = 4, seed: int = 0, range_: str = "01") -> TensorData:
    """Images of Bernoulli probabilities with dynamic binarization; labels are the example indices."""
    x = torch.rand(n, 1, side, side, generator=torch.Generator().manual_seed(seed))
    info = DataInfo("probs", "image", (1, side, side), 0, range_, True)
    return TensorData(x, torch.arange(n), info, dynamic_binarize=True)


def ids(batch) -> list[int]:
    return batch.x[:, 0].long().tolist()


# ----------------------------------------------------------------------------------------------------
# BatchStream


@pytest.mark.parametrize("n, b", [(10, 3), (12, 4), (7, 7)])
def test_drop_last_and_every_example_at_most_once_per_epoch(n, b):
    s = BatchStream(indexed_points(n), b, seed=0)
    bpe = n // b
    assert s.batches_per_epoch == bpe
    for _epoch in range(4):
        seen = []
        for _ in range(bpe):
            batch = s.next()
            assert batch.x.shape == (b, 1)  # drop-last: every batch is full
            assert torch.equal(batch.y, batch.x[:, 0].long())  # inputs and labels stay paired
            seen += ids(batch)
        assert len(seen) == len(set(seen)) == bpe * b
        assert set(seen) <= set(range(n))
        if n % b == 0:
            assert sorted(seen) == list(range(n))


def test_epochs_are_reshuffled_and_leftovers_change():
    n, b = 10, 3
    s = BatchStream(indexed_points(n), b, seed=0)
    orders, left_out = [], set()
    for _ in range(20):
        order = [i for _ in range(3) for i in ids(s.next())]
        orders.append(order)
        left_out |= set(range(n)) - set(order)
    assert len({tuple(o) for o in orders}) > 1
    assert len(left_out) > 1, "the same examples are dropped in every epoch"


def test_epoch_property():
    s = BatchStream(indexed_points(10), 3, seed=0)
    assert s.epoch == 0
    for k in range(1, 8):
        s.next()
        assert s.epoch == pytest.approx(k / 3, rel=1e-12, abs=0)


def test_same_seed_same_stream_and_other_seed_differs():
    a = BatchStream(indexed_points(20), 4, seed=3)
    b = BatchStream(indexed_points(20), 4, seed=3)
    c = BatchStream(indexed_points(20), 4, seed=4)
    xa = [a.next().x for _ in range(10)]
    assert all(torch.equal(u, b.next().x) for u in xa)
    assert not all(torch.equal(u, c.next().x) for u in xa)


@pytest.mark.parametrize("through_file", [False, True])
def test_state_dict_resume_mid_epoch_is_bitwise_identical(through_file):
    data = probs_images(10)  # dynamic binarization: the generator state matters for the values too
    a = BatchStream(data, 3, seed=0)
    for _ in range(4):  # one epoch and a third: a save mid-epoch
        a.next()
    state = a.state_dict()
    if through_file:  # as the trainer keeps it: torch.save, then a safe load
        buf = io.BytesIO()
        torch.save(state, buf)
        buf.seek(0)
        state = torch.load(buf, weights_only=True)
    expected = [a.next() for _ in range(8)]
    b = BatchStream(data, 3, seed=99)
    b.next()
    b.load_state_dict(state)
    assert b.epoch == pytest.approx(4 / 3, rel=1e-12, abs=0)
    for want in expected:
        got = b.next()
        assert torch.equal(got.x, want.x) and torch.equal(got.y, want.y)
    assert b.epoch == a.epoch


def test_state_dict_is_a_snapshot():
    a = BatchStream(probs_images(10), 3, seed=0)
    a.next()
    state = a.state_dict()
    expected = [a.next().x for _ in range(6)]
    b = BatchStream(probs_images(10), 3, seed=0)
    b.load_state_dict(state)
    assert all(torch.equal(b.next().x, e) for e in expected)


def test_batch_size_larger_than_data_is_an_error():
    with pytest.raises(DataError, match="batch_size 11"):
        BatchStream(indexed_points(10), 11, seed=0)
    assert BatchStream(indexed_points(10), 10, seed=0).batches_per_epoch == 1


# ----------------------------------------------------------------------------------------------------
# dynamic binarization


def test_dynamic_binarization_is_binary_and_redrawn_each_epoch():
    data = probs_images(6, side=8)
    s = BatchStream(data, 6, seed=0)
    first, second = s.next(), s.next()
    for batch in (first, second):
        assert set(batch.x.unique().tolist()) <= {0.0, 1.0}
    a = first.x[first.y.argsort()]
    b = second.x[second.y.argsort()]
    for i in range(6):
        assert not torch.equal(a[i], b[i]), f"example {i} got the same binarization in two epochs"
    assert torch.equal(data.x, probs_images(6, side=8).x), "binarization must not change the stored probabilities"


def test_dynamic_binarization_mean_matches_the_probabilities():
    n, draws = 4, 3000
    data = probs_images(n, side=4)
    data.x[0, 0, 0, 0], data.x[0, 0, 0, 1] = 0.0, 1.0  # the edges are exact
    s = BatchStream(data, n, seed=1)
    total = torch.zeros_like(data.x)
    for _ in range(draws):
        batch = s.next()
        total[batch.y] += batch.x
    mean = total / draws
    # std of a mean of 3000 draws is at most 0.0091; 0.04 is > 4 sigma on each of the 64 pixels
    assert (mean - data.x).abs().max() < 0.04
    assert mean[0, 0, 0, 0] == 0.0 and mean[0, 0, 0, 1] == 1.0


def test_dynamic_binarization_in_pm1_gives_plus_minus_one():
    s = BatchStream(probs_images(6, range_="pm1"), 6, seed=0)
    assert set(s.next().x.unique().tolist()) == {-1.0, 1.0}


# ----------------------------------------------------------------------------------------------------
# load_data: static binarization, ranges, subsets


def test_static_binarization_is_fixed_and_binary():
    cfg = DataConfig(dataset="digits", binarize="static")
    a, b = load_data(cfg), load_data(cfg, seed=5)
    assert torch.equal(a.x, b.x)
    assert set(a.x.unique().tolist()) == {0.0, 1.0}
    assert a.info.binarized and not a.dynamic_binarize
    grey = load_data(DataConfig(dataset="digits")).x
    assert torch.all(a.x[grey == 0] == 0) and torch.all(a.x[grey == 1] == 1)
    # one Bernoulli draw per pixel: the binary mean follows the grey mean
    assert abs(a.x.mean().item() - grey.mean().item()) < 0.01
    s = BatchStream(a, 100, seed=0)  # and the stream does not redraw it
    batch = s.next()
    assert torch.equal(batch.x, a.x.index_select(0, s.perm[:100]))


def test_dynamic_binarization_via_load_data():
    d = load_data(DataConfig(dataset="digits", binarize="dynamic"))
    assert d.dynamic_binarize and d.info.binarized
    grey = load_data(DataConfig(dataset="digits"))
    assert torch.equal(d.x, grey.x), "dynamic binarization keeps the grey levels as probabilities"


def test_pm1_range_maps_and_to_data_space_inverts():
    d01 = load_data(DataConfig(dataset="digits", range="01"))
    dpm = load_data(DataConfig(dataset="digits", range="pm1"))
    auto = load_data(DataConfig(dataset="digits"), preferred_range="pm1")
    assert dpm.info.range == auto.info.range == "pm1" and d01.info.range == "01"
    assert load_data(DataConfig(dataset="digits", range="01"), preferred_range="pm1").info.range == "01"
    idx = torch.arange(len(d01))
    x01, xpm = d01.batch(idx).x, dpm.batch(idx).x
    assert x01.min() == 0 and x01.max() == 1
    assert xpm.min() == -1 and xpm.max() == 1
    torch.testing.assert_close(xpm, 2 * x01 - 1, rtol=0, atol=1e-6)
    torch.testing.assert_close(dpm.info.to_data_space(xpm), x01, rtol=0, atol=1e-6)
    torch.testing.assert_close(dpm.info.to_model_space(x01), xpm, rtol=0, atol=1e-6)
    torch.testing.assert_close(d01.info.to_data_space(x01), x01, rtol=0, atol=0)


def test_points_ignore_the_range():
    d = load_data(DataConfig(dataset="ring8", range="pm1"), preferred_range="pm1")
    x = d.x[:10]
    assert torch.equal(d.info.to_model_space(x), x) and torch.equal(d.info.to_data_space(x), x)


def test_subset_keeps_n_examples_and_depends_on_the_seed():
    full = load_data(DataConfig(dataset="digits"))
    a = load_data(DataConfig(dataset="digits", subset=100), seed=3)
    b = load_data(DataConfig(dataset="digits", subset=100), seed=3)
    c = load_data(DataConfig(dataset="digits", subset=100), seed=4)
    assert len(a) == 100 and a.y.shape == (100,)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(a.x, c.x)
    # the subset is made of rows of the full data, labels kept with their images, no row twice
    rows = {(bytes(x.numpy()), int(y)) for x, y in zip(full.x, full.y)}
    sub = [(bytes(x.numpy()), int(y)) for x, y in zip(a.x, a.y)]
    assert all(r in rows for r in sub)
    assert len(a.y.unique()) >= 8, "a seeded shuffle first: a subset of 100 holds (nearly) every class"


def test_subset_of_points():
    d = load_data(DataConfig(dataset="grid25", subset=500))
    assert d.x.shape == (500, 2)


# ----------------------------------------------------------------------------------------------------
# the 2-D mixtures (TARGETS.md section 2)


def _mixture_checks(name: str, modes_expected: np.ndarray, std: float):
    d = load_data(DataConfig(dataset=name))
    assert d.info.kind == "points" and d.info.shape == (2,)
    assert d.info.num_classes == len(modes_expected)
    x, y = d.x.double().numpy(), d.y.numpy()
    assert len(x) == 100_000
    assert sorted(np.unique(y).tolist()) == list(range(len(modes_expected)))
    # every point lies near the mode its label names, and that is its nearest mode
    dist = np.linalg.norm(x[:, None, :] - modes_expected[None], axis=-1)
    assert (dist.argmin(1) == y).all()
    resid = x - modes_expected[y]
    assert abs(resid.std() - std) < 0.03 * std, f"std {resid.std()} vs {std}"
    assert np.abs(resid.mean(0)).max() < 0.01 * std + 3 * std / math.sqrt(len(x) / 2)
    counts = np.bincount(y) / len(y)  # a uniform mixture
    assert np.abs(counts - 1 / len(modes_expected)).max() < 0.01
    test = load_data(DataConfig(dataset=name, split="test"))
    assert len(test) == 10_000 and not torch.equal(test.x[:100], d.x[:100])


def test_ring8_has_eight_distinct_modes_on_a_circle():
    modes = ring8_modes()
    angles = 2 * np.pi * np.arange(8) / 8
    expected = np.stack([2 * np.cos(angles), 2 * np.sin(angles)], 1)
    np.testing.assert_allclose(modes, expected, rtol=0, atol=1e-12)
    assert len(np.unique(np.round(modes, 6), axis=0)) == 8
    np.testing.assert_allclose(np.linalg.norm(modes, axis=1), 2.0, rtol=0, atol=1e-12)
    _mixture_checks("ring8", expected, 0.02)


def test_grid25_has_the_25_grid_modes():
    modes = grid25_modes()
    expected = {(a, b) for a in (-4.0, -2.0, 0.0, 2.0, 4.0) for b in (-4.0, -2.0, 0.0, 2.0, 4.0)}
    assert len(modes) == 25 and {tuple(m) for m in modes.tolist()} == expected
    _mixture_checks("grid25", modes, 0.05)


# ----------------------------------------------------------------------------------------------------
# digits


def test_digits_split_sizes_shapes_and_disjointness():
    from sklearn.datasets import load_digits

    train = load_data(DataConfig(dataset="digits", split="train"))
    test = load_data(DataConfig(dataset="digits", split="test"))
    assert (len(train), len(test)) == (1500, 297)
    for d in (train, test):
        assert d.x.shape[1:] == (1, 8, 8) and d.info.shape == (1, 8, 8)
        assert d.x.dtype == torch.float32
        assert d.x.min() >= 0 and d.x.max() <= 1 and d.x.max() == 1
        assert d.info.kind == "image" and d.info.num_classes == 10
    # train + test is exactly the full data set, as a multiset of (image, label): a disjoint partition
    full = load_digits()
    want = sorted(bytes((img / 16.0).astype(np.float32)) + bytes([t]) for img, t in zip(full.images, full.target))
    got = sorted(bytes(x.numpy()) + bytes([int(t)]) for d in (train, test) for x, t in zip(d.x, d.y))
    assert got == want
    assert sorted(train.y.unique().tolist()) == list(range(10)) == sorted(test.y.unique().tolist())


@pytest.mark.parametrize("mode", ["dynamic", "static"])
@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_binarize_on_points_is_an_error(name, mode):
    with pytest.raises(DataError, match="binarize"):
        load_data(DataConfig(dataset=name, binarize=mode))
