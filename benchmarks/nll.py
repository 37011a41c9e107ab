"""NLL by importance sampling: how long K = 5000 takes for the IWAE paper's 784-200-200-50 model.

    python benchmarks/nll.py [--n 10000] [--k 5000] [--run DIR]

Times ``log_weights_all`` (the function behind ``genlab evaluate --metrics nll``) on binarized Fashion-MNIST
test images (random binary images when the dataset is not on this machine), and prints the time, the
decoder's matrix-multiply rate, and the machine's own float32 matrix-multiply rate measured on the same
shapes: the arithmetic floor. Beside it, the elementwise work no implementation of this estimator avoids,
timed on the same shapes: the decoder's hidden activations and the Bernoulli likelihood's softplus over
every output pixel of every sample (a transcendental function per number, as many numbers as the last
matrix product makes). With --run, the model of a trained run directory is timed instead of a
freshly initialised one (the cost does not depend on the weights). --n below 10000 projects to 10,000.
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from genlab import api
from genlab.config import DataConfig
from genlab.data.base import DataInfo, load_data
from genlab.errors import DataError
from genlab.metrics.importance import ROWS_PER_BATCH, log_weights_all
from timing import seconds_per_call  # benchmarks/timing.py


def test_images(n: int) -> tuple[torch.Tensor, str]:
    try:
        data = load_data(DataConfig(dataset="fashion-mnist", binarize="dynamic", download=False), split="test")
        x = data.batch(torch.arange(min(n, len(data))), torch.Generator().manual_seed(0)).x
        return x, "fashion-mnist test, binarized once"
    except DataError:
        g = torch.Generator().manual_seed(0)
        return (torch.rand(n, 1, 28, 28, generator=g) < 0.3).float(), "random binary 28x28 (fashion-mnist absent)"


def matmul_rate(rows: int, sizes: list[tuple[int, int]], seconds: float = 3.0) -> float:
    """float32 GFLOP/s of the decoder's matrix products alone, at the chunk size the estimator uses."""
    hs = [torch.randn(rows, i) for i, _ in sizes]
    ws = [torch.randn(o, i) for i, o in sizes]
    flop = 2 * rows * sum(i * o for i, o in sizes)

    def products():
        for h, w in zip(hs, ws):
            torch.mm(h, w.t())

    return flop / seconds_per_call(products, seconds) / 1e9


def elementwise_seconds(model, rows: int, seconds: float = 3.0) -> float:
    """Seconds per chunk of `rows` samples of the decoder's hidden activations and of the likelihood's
    softplus over its outputs, summed per sample: the elementwise part of the floor."""
    linears = [m for m in model.decoder.modules() if isinstance(m, torch.nn.Linear)]
    acts = [m for m in model.decoder.modules() if isinstance(m, (torch.nn.Tanh, torch.nn.ReLU, torch.nn.LeakyReLU,
                                                                 torch.nn.ELU, torch.nn.Sigmoid))]
    hidden = [torch.randn(rows, m.out_features) for m in linears[:-1]]
    out = torch.randn(rows, linears[-1].out_features)

    def work():
        for act, h in zip(acts, hidden):
            act(h)
        torch.nn.functional.softplus(out).sum(-1)

    return seconds_per_call(work, seconds)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=10000, help="test images (default 10000)")
    p.add_argument("--k", type=int, default=5000, help="importance samples per image (default 5000)")
    p.add_argument("--run", help="a trained run directory of the VAE family (default: the 784-200-200-50 model)")
    args = p.parse_args()
    if args.run:
        _, _, model = api.load_trained(args.run, "cpu")
        what = f"the model of {args.run}"
    else:
        info = DataInfo("fashion-mnist", "image", (1, 28, 28), 10, "01", False)
        cfg = api.make_configs("vae", "fashion-mnist", {"preset": "iwae-paper"})["model"]
        model = api.build_model("vae", cfg, info, torch.device("cpu"))
        what = "the IWAE paper's 784-200-200-z50 tanh MLP (1 stochastic layer)"
    model.eval()
    x, source = test_images(args.n)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {what}")
    print(f"{len(x)} images ({source}), K = {args.k}, {ROWS_PER_BATCH} (image, sample) rows per chunk")
    t0 = time.perf_counter()
    lw = log_weights_all(model, x, None, args.k, 0)
    seconds = time.perf_counter() - t0
    nll = -(torch.logsumexp(lw.double(), 1) - math.log(args.k))
    dec = [(m.in_features, m.out_features) for m in model.decoder.modules() if isinstance(m, torch.nn.Linear)]
    flop = 2 * len(x) * args.k * sum(i * o for i, o in dec)
    floor = matmul_rate(ROWS_PER_BATCH, dec)
    print(f"NLL {nll.mean():.2f} nats (an untrained model scores high; this times the estimator)")
    print(f"time: {seconds:.1f} s for {len(x)} images = {seconds / len(x) * 1e3:.1f} ms per image; "
          f"projected for 10,000 images: {seconds / len(x) * 1e4 / 60:.2f} min")
    per_image = flop / len(x)
    print(f"decoder matmuls: {per_image / 1e9:.2f} GFLOP per image, {flop / seconds / 1e9:.0f} GFLOP/s overall "
          f"({flop / floor / 1e9 / seconds * 100:.0f}% of the time in matrix products); the machine's matmul on "
          f"these shapes: {floor:.0f} GFLOP/s, a floor of {per_image * 1e4 / floor / 1e9 / 60:.2f} min for 10,000 images")
    chunks = len(x) * args.k / ROWS_PER_BATCH
    products, elementwise = flop / floor / 1e9, chunks * elementwise_seconds(model, ROWS_PER_BATCH)
    print(f"time / matmul floor: {seconds / products:.2f}x; the hidden activations and the likelihood's softplus "
          f"alone take {elementwise:.1f} s ({elementwise / products:.0%} of the products' time): time / (products + "
          f"those) {seconds / (products + elementwise):.2f}x")

if __name__ == "__main__":
    main()
