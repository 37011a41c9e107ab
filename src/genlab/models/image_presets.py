"""Presets for colour images: ``--preset cifar10`` (32x32) and ``--preset celeba64`` (64x64).

Plain data, one entry per model family, read by the families' ``named_presets``. The networks are genlab's
DCGAN-style convolutions (``nets/conv.py``: 4x4 kernels of stride 2, one linear map between the smallest,
4x4, feature map and the vector), sized as the published architectures:

- ``cifar10``, GANs and hybrids: the DCGAN-style CIFAR-10 networks of the WGAN-GP code (Gulrajani et al.
  2017, ``gan_cifar.py`` with DIM = 128): G maps z (128) to 4x4x512, 8x8x256, 16x16x128, 32x32x3; D (and an
  encoder) mirrors it, 128, 256, 512 channels. (Their kernels are 5x5; genlab's are 4x4.)
- ``celeba64``, GANs and hybrids: DCGAN (Radford et al. 2015) as in its authors' code (dcgan.torch,
  ngf = ndf = 64): G maps z to 4x4x512, 8x8x256, 16x16x128, 32x32x64, 64x64x3; D mirrors it. z has 128
  dimensions (DCGAN used 100) so that every family's latent space has the same size.
- The VAE family: the same DCGAN-style encoder and decoder at 64 channels with a 128-dimensional latent
  space, the size of Larsen et al.'s (2016) CelebA VAE; a Bernoulli likelihood on [0, 1] pixels, the
  "cross-entropy" VAE of the large-scale comparisons (Lucic et al. 2018).
- WGAN-GP keeps its paper's optimizer (Adam 1e-4, betas 0 and 0.9, five critic updates); at 64x64 its
  critic uses layer normalization, as the paper recommends (section 4).

Lengths (``train``): batch 64, and 100 epochs of CIFAR-10 or 20 of CelebA: GPU budgets, chosen, not
measured here (neither dataset nor a GPU is on genlab's build machines); pass ``--epochs`` to change them.
"""

from __future__ import annotations

# 28x28 images (MNIST, Fashion-MNIST), every GAN-family model and hybrid: 3 epochs, 2,811 updates at batch 64 (for
# wgan and wgan-gp 563 generator updates of 5 critic updates each). At that length every one measured on
# Fashion-MNIST (`genlab reproduce defaults --datasets fashion-mnist`: 12 of them, all but cyclegan, which needs
# two domains) drew all 10 classes at FID 33 to 101 in the domain classifier's features (unrolled, K = 3: 80), in
# 4 to 18 minutes of 2-core CPU time (unrolled: 32 with three other runs on the cores; K = 5 took 20 alone);
# TrainConfig's 10 epochs would take 15 minutes to an hour. --epochs for more.
# 32x32 colour images (CIFAR-10, a folder or npz of 32x32 pictures) take the same settings: CIFAR-10 cannot be had
# on genlab's build machines, so they were checked on a 32x32 colour stand-in of CIFAR-10's size, colour
# Fashion-MNIST edge-padded to 32x32 (60,000 images; `genlab sweep M --dataset npz --grid data.path=FILE --epochs 3`,
# seed 0, FID of 10,000 samples in the domain classifier's features): all 17 one-domain models drew all 10
# classes, FID 39 (bigan) to 82 (wgan-gp), in 2 to 25 minutes on one thread beside other runs (unrolled 50); the
# README's 32x32 table has each model's figure and the settings compared with the kind's defaults.
GAN_IMAGES = {"train": {"epochs": 3}}

GAN_NETS = {"cifar10": {"noise_dim": 128, "width": 128}, "celeba64": {"noise_dim": 128, "width": 64}}
WGAN_GP_PAPER = {"d_steps": 5, "lr_g": 1e-4, "lr_d": 1e-4, "beta1": 0.0, "beta2": 0.9}  # Gulrajani et al.'s Adam
LENGTHS = {"cifar10": {"batch_size": 64, "epochs": 100}, "celeba64": {"batch_size": 64, "epochs": 20}}

FAMILIES: dict[str, dict[str, dict]] = {
    "vae": {size: {"net": "conv", "width": 64, "latent_dim": 128} for size in LENGTHS},
    "gan": GAN_NETS,
    # stated whole: the 28x28 and 32x32 defaults (TTUR) would otherwise apply under these presets
    "wgan-gp": {"cifar10": {**GAN_NETS["cifar10"], **WGAN_GP_PAPER, "critic_norm": "none"},
                "celeba64": {**GAN_NETS["celeba64"], **WGAN_GP_PAPER, "critic_norm": "layer"}},
    "hybrid": {size: {"latent_dim": nets["noise_dim"], "width": nets["width"], "net": "conv", "init": "dcgan"}
               for size, nets in GAN_NETS.items()},
}


def image_presets(family: str) -> dict[str, dict]:
    """The ``named_presets`` entries of a family: {preset: {"model": ..., "train": ...}}."""
    return {name: {"model": dict(model), "train": dict(LENGTHS[name])} for name, model in FAMILIES[family].items()}
