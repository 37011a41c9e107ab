"""Networks shared by the models: MLPs and DCGAN-style convolutional encoders and decoders."""

from .conv import ConvDecoder, ConvEncoder, conv_plan
from .critics import CriticOutput, FeatureCritic, JointCritic
from .mlp import MLP

__all__ = ["MLP", "ConvEncoder", "ConvDecoder", "conv_plan", "make_encoder", "make_decoder", "resolve_net",
           "CriticOutput", "FeatureCritic", "JointCritic"]


def resolve_net(net: str, shape: tuple[int, ...]) -> str:
    """'auto' -> 'conv' for images of at least 16 pixels a side, 'mlp' otherwise (points, 8x8 digits)."""
    if net != "auto":
        return net
    return "conv" if len(shape) == 3 and min(shape[1:]) >= 16 else "mlp"


def make_encoder(net: str, shape: tuple[int, ...], out_dim: int, hidden: tuple[int, ...], width: int,
                 act: str = "relu", batchnorm: bool = False, layernorm: bool = False):
    """Data (B, *shape) -> features (B, out_dim); the normalizations apply to convolutional networks."""
    if net == "conv":
        return ConvEncoder(shape, out_dim, width=width, batchnorm=batchnorm, act=act, layernorm=layernorm)
    return MLP(shape, (*hidden, out_dim), act=act)


def make_decoder(net: str, in_dim: int, shape: tuple[int, ...], hidden: tuple[int, ...], width: int,
                 act: str = "relu", out_act: str = "none", batchnorm: bool = False):
    """Latent (B, in_dim) -> data (B, *shape)."""
    if net == "conv":
        return ConvDecoder(in_dim, shape, width=width, batchnorm=batchnorm, act=act, out_act=out_act)
    return MLP((in_dim,), (*hidden, _numel(shape)), act=act, out_act=out_act, out_shape=shape)


def _numel(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n
