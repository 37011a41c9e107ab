"""genlab's VAE beside pythae's on the same network, data, epochs, batch and optimizer.

    pip install pythae            # not a genlab dependency; only this benchmark needs it
    python benchmarks/vs_pythae.py [--epochs 10] [--k 1000] [--n 10000]

Both train the 784-512-20 MLP VAE (ReLU, Bernoulli likelihood, analytic KL) with Adam (lr 1e-3) at batch
128 on the same statically binarized Fashion-MNIST (one Bernoulli draw per pixel, seed 0, written once and
given to both), then both are scored by the same importance-sampling estimator (genlab's
``log_weights_all``: log-mean-exp of K weights per test image) on the same binarized test images and noise.
Prints the training time and images/s of each (genlab: its trainer's clock; pythae: ``trainer.train()``
wall time, which includes its per-epoch logging and final save) and the test NLL with its standard error.

And the floor, measured in the same run on the same shapes: the matrix products of one training step
(forward, and backward for the weights and for every input but the images') and, apart, one step of the
fused Adam update over the same parameters, which every trainer of this net pays and no matrix product
counts. genlab's share of the floor is (images x floor per step) / genlab's training time.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from genlab import api
from genlab.config import DataConfig
from genlab.data.base import load_data
from genlab.losses import bernoulli_log_prob, diag_gaussian_log_density, iwae_bound, std_normal_log_density
from genlab.metrics.importance import log_weights_all
from genlab.models.vae import Terms
from timing import seconds_per_call  # benchmarks/timing.py


def binarized_fashion(path: Path) -> dict[str, np.ndarray]:
    """Fashion-MNIST, each pixel drawn once as Bernoulli(intensity) with seed 0, saved as an npz file."""
    rng = np.random.default_rng(0)
    arrays = {}
    for split in ("train", "test"):
        d = load_data(DataConfig(dataset="fashion-mnist", download=False), split=split)
        x = d.x.numpy()
        arrays[f"x_{split}"] = (rng.random(x.shape, dtype=np.float32) < x).astype(np.float32)
        arrays[f"y_{split}"] = d.y.numpy()
    np.savez(path, **arrays)
    return arrays


class PythaeScorer:
    """pythae's encoder and decoder seen through genlab's log-weights interface, for the same estimator."""

    def __init__(self, encoder, decoder):
        self.encoder, self.decoder = encoder, decoder

    def terms(self, x, k, y=None, generator=None):
        """log p(x | z_k) and log q(z_k | x) - log p(z_k), (B, K) each (``models.vae.Terms``)."""
        out = self.encoder(x)
        mu, logvar = out.embedding, out.log_covariance  # (B, Z)
        z = mu.unsqueeze(1) + torch.randn(mu.shape[0], k, mu.shape[1], generator=generator) * (0.5 * logvar).exp().unsqueeze(1)
        logits = self.decoder.logits(z.reshape(-1, z.shape[-1])).view(x.shape[0], k, *x.shape[1:])
        log_px = bernoulli_log_prob(x.unsqueeze(1), logits, x.dim() - 1)  # (B, K)
        kl = diag_gaussian_log_density(z, mu.unsqueeze(1), logvar.unsqueeze(1)) - std_normal_log_density(z)
        return Terms(log_px, kl)


def train_pythae(x_train: np.ndarray, epochs: int, out: Path):
    from pythae.data.datasets import BaseDataset
    from pythae.models import VAE, VAEConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder
    from pythae.trainers import BaseTrainer, BaseTrainerConfig

    class Encoder(BaseEncoder):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 40))

        def forward(self, x):
            mu, logvar = self.net(x).chunk(2, -1)
            return ModelOutput(embedding=mu, log_covariance=logvar)

    class Decoder(BaseDecoder):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(20, 512), nn.ReLU(), nn.Linear(512, 784))

        def logits(self, z):
            return self.net(z)

        def forward(self, z):
            return ModelOutput(reconstruction=torch.sigmoid(self.net(z)).view(-1, 1, 28, 28))

    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=(1, 28, 28), latent_dim=20, reconstruction_loss="bce"), Encoder(), Decoder())
    cfg = BaseTrainerConfig(output_dir=str(out), num_epochs=epochs, learning_rate=1e-3, per_device_train_batch_size=128,
                            optimizer_cls="Adam", seed=0, no_cuda=True)
    data = BaseDataset(torch.from_numpy(x_train), torch.zeros(len(x_train)))
    trainer = BaseTrainer(model, train_dataset=data, eval_dataset=None, training_config=cfg)
    t0 = time.perf_counter()
    trainer.train()
    return model, time.perf_counter() - t0


LAYERS = [(784, 512), (512, 40), (20, 512), (512, 784)]  # the encoder's and the decoder's linear layers


def step_floor(batch: int, seconds: float = 3.0) -> tuple[float, float]:
    """Seconds per training step of (the matrix products alone, the fused Adam update alone) for the VAE's
    layers at `batch`: forward, the weights' gradients, and the inputs' gradients of all layers but the first."""
    xs = [torch.randn(batch, i) for i, _ in LAYERS]
    ws = [torch.randn(o, i) for i, o in LAYERS]
    gs = [torch.randn(batch, o) for _, o in LAYERS]

    def products():
        for j, (x, w, g) in enumerate(zip(xs, ws, gs)):
            torch.mm(x, w.t())  # forward
            torch.mm(g.t(), x)  # dL/dW
            if j:
                torch.mm(g, w)  # dL/dx

    params = [torch.nn.Parameter(torch.randn(o, i)) for i, o in LAYERS] + [torch.nn.Parameter(torch.randn(o))
                                                                         for _, o in LAYERS]
    for q in params:
        q.grad = torch.randn_like(q)
    adam = torch.optim.Adam(params, lr=1e-3, fused=True)
    return seconds_per_call(products, seconds), seconds_per_call(adam.step, seconds)


def score(model, x: torch.Tensor, k: int) -> tuple[float, float]:
    lw = log_weights_all(model, x, None, k, 1)
    nll = -iwae_bound(lw.double())
    return nll.mean().item(), nll.std().item() / math.sqrt(len(nll))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--k", type=int, default=1000, help="importance samples per test image (default 1000)")
    p.add_argument("--n", type=int, default=10000, help="test images scored (default all 10,000)")
    args = p.parse_args()
    try:
        import pythae  # noqa: F401
    except ImportError:
        raise SystemExit("this benchmark compares with pythae: pip install pythae") from None
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        arrays = binarized_fashion(tmp / "fashion-binary.npz")
        n_train = len(arrays["x_train"])
        x_test = torch.from_numpy(arrays["x_test"][: args.n])
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; statically binarized Fashion-MNIST, "
              f"{n_train} train images, {args.epochs} epochs, batch 128, Adam 1e-3; 784-512-20 ReLU MLP VAE")

        cfgs = api.make_configs("vae", "npz", {
            "path": str(tmp / "fashion-binary.npz"), "net": "mlp", "hidden": "512", "latent_dim": "20",
            "likelihood": "bernoulli", "epochs": str(args.epochs), "batch_size": "128", "lr": "1e-3", "seed": "0",
            "sample_every": "0", "log_every": "100"})
        run = api.train("vae", tmp / "genlab", cfgs, progress=False)
        g_time = run.read_metrics()[-1]["time"]
        _, _, g_model = api.load_trained(run.path, "cpu")
        g_nll = score(g_model.eval(), x_test, args.k)

        p_model, p_time = train_pythae(arrays["x_train"], args.epochs, tmp / "pythae")
        p_model.eval()
        with torch.inference_mode():
            p_nll = score(PythaeScorer(p_model.encoder, p_model.decoder), x_test, args.k)

    print(f"\ntest NLL: K = {args.k} importance samples on {len(x_test)} test images (the same estimator, noise and images)")
    print(f"{'':8s} {'train s':>8s} {'images/s':>9s} {'NLL nats':>14s}")
    for name, secs, (nll, se) in (("genlab", g_time, g_nll), ("pythae", p_time, p_nll)):
        print(f"{name:8s} {secs:8.1f} {n_train * args.epochs / secs:9,.0f} {nll:8.2f} +- {se:.2f}")
    print(f"genlab trains {p_time / g_time:.1f}x faster; its NLL is {g_nll[0] - p_nll[0]:+.2f} nats from pythae's")
    steps = math.ceil(n_train / 128) * args.epochs
    mm, adam = step_floor(128)
    print(f"floor on this machine, same shapes: matrix products {mm * 1e3:.2f} ms a step, fused Adam {adam * 1e3:.2f} ms "
          f"a step; for {steps} steps {mm * steps:.1f} s + {adam * steps:.1f} s. genlab runs at "
          f"{mm * steps / g_time:.0%} of the matrix-product floor ({(mm + adam) * steps / g_time:.0%} of products + "
          f"Adam); pythae at {mm * steps / p_time:.0%} ({(mm + adam) * steps / p_time:.0%})")


if __name__ == "__main__":
    main()
