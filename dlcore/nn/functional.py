"""PyTorch-named functions (``import dlcore.nn.functional as F``), built from dlcore.ops."""
from ..ops.activation import (
    add_relu, elu, gelu, leaky_relu, log_softmax, prelu, relu, sigmoid, silu, softmax, softplus,
    tanh,
)
from ..ops.attention import scaled_dot_product_attention
from ..ops.conv import conv2d, conv_transpose2d
from ..ops.dropout import dropout
from ..ops.embedding import embedding, one_hot
from ..ops.linalg import linear
from ..ops.loss import (
    binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, gaussian_nll_loss,
    kl_div, l1_loss, mse_loss, nll_loss,
)
from ..ops.norm import batch_norm, layer_norm
from ..ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from ..ops.resample import interpolate
from ..ops.shape import pad
from .variational import gaussian_kl, reparameterize

__all__ = [
    "adaptive_avg_pool2d", "add_relu", "avg_pool2d", "batch_norm", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "conv2d", "conv_transpose2d", "cross_entropy", "dropout", "elu", "embedding",
    "gaussian_kl", "gaussian_nll_loss", "gelu", "interpolate", "kl_div", "l1_loss", "layer_norm",
    "leaky_relu",
    "linear", "log_softmax", "max_pool2d", "mse_loss", "nll_loss", "one_hot", "pad", "prelu",
    "relu", "reparameterize",
    "scaled_dot_product_attention", "sigmoid", "silu", "softmax", "softplus", "tanh",
]
