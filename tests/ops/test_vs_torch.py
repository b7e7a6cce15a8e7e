"""Forward and backward of dlcore.nn.functional against PyTorch, in float32 on the default
kernel backend (skipped when PyTorch is not installed)."""
import numpy as np
import pytest

import dlcore
import dlcore.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def arrays(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(np.float32) for shape in shapes]


def ids(shape, classes, seed=0):
    return np.random.default_rng(seed).integers(0, classes, shape)


def compare(ours, theirs, *inputs, rtol=1e-4, atol=1e-5):
    """Run both on the same inputs (floats require grad); compare outputs and input gradients."""
    mine = [dlcore.tensor(a, requires_grad=a.dtype.kind == "f") for a in inputs]
    reference = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in inputs]
    out, expected = ours(*mine), theirs(*reference)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=rtol, atol=atol)
    cotangent = np.random.default_rng(9).standard_normal(out.shape).astype(np.float32)
    out.backward(cotangent)
    expected.backward(torch.tensor(cotangent))
    for m, r in zip(mine, reference):
        if r.requires_grad:
            np.testing.assert_allclose(m.grad, r.grad.numpy(), rtol=rtol, atol=atol)


def shared_reductions(x):
    """Tensor methods with the same names in both libraries, so one function serves both."""
    return x.var(1) + x.std(1) + x.logsumexp(1) + x.max(1).values + x.min(1).values


CASES = {
    "linear": (F.linear, TF.linear, arrays((5, 7), (3, 7), (3,))),
    "matmul_batched": (lambda a, b: a @ b, lambda a, b: a @ b, arrays((2, 1, 3, 4), (5, 4, 2))),
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, dilation=(1, 2), groups=2),
               lambda x, w, b: TF.conv2d(x, w, b, stride=2, padding=1, dilation=(1, 2), groups=2),
               arrays((2, 4, 9, 8), (6, 2, 3, 3), (6,))),
    "conv2d_same_even": (lambda x, w: F.conv2d(x, w, padding="same"),
                         lambda x, w: TF.conv2d(x, w, padding="same"),
                         arrays((1, 2, 6, 5), (3, 2, 4, 2))),
    "max_pool2d": (lambda x: F.max_pool2d(x, 3, 2, 1),
                   lambda x: TF.max_pool2d(x, 3, 2, 1), arrays((2, 3, 7, 6))),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
                   lambda x: TF.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
                   arrays((2, 3, 7, 6))),
    "adaptive_avg_pool2d": (lambda x: F.adaptive_avg_pool2d(x, (3, 2)),
                            lambda x: TF.adaptive_avg_pool2d(x, (3, 2)), arrays((2, 3, 7, 5))),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (4,), w, b),
                   lambda x, w, b: TF.layer_norm(x, (4,), w, b),
                   arrays((3, 2, 4), (4,), (4,))),
    "embedding": (lambda i, w: F.embedding(i, w, padding_idx=1),
                  lambda i, w: TF.embedding(i, w, padding_idx=1),
                  [ids((3, 4), 5), *arrays((5, 3))]),
    "gelu": (F.gelu, TF.gelu, arrays((4, 5))),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"),
                  lambda x: TF.gelu(x, approximate="tanh"), arrays((4, 5))),
    "elu": (F.elu, TF.elu, arrays((4, 5))),
    "silu": (F.silu, TF.silu, arrays((4, 5))),
    "softplus": (F.softplus, TF.softplus, [arrays((4, 5))[0] * 10]),
    "leaky_relu": (F.leaky_relu, TF.leaky_relu, arrays((4, 5))),
    "add_relu": (F.add_relu, lambda a, b: TF.relu(a + b), arrays((2, 3, 4, 5), (2, 3, 4, 5))),
    "add_relu_broadcast": (F.add_relu, lambda a, b: TF.relu(a + b), arrays((2, 3, 4), (3, 1))),
    "prelu": (F.prelu, TF.prelu, arrays((2, 3, 4), (3,))),
    "log_softmax": (lambda x: F.log_softmax(x, 1),
                    lambda x: TF.log_softmax(x, 1), arrays((3, 4, 2))),
    "softmax": (lambda x: F.softmax(x, 0), lambda x: TF.softmax(x, 0), arrays((3, 4))),
    "cross_entropy": (lambda x, t: F.cross_entropy(x, t, ignore_index=2, label_smoothing=0.1),
                      lambda x, t: TF.cross_entropy(x, t, ignore_index=2, label_smoothing=0.1),
                      [*arrays((6, 5)), ids(6, 5)]),
    "cross_entropy_spatial": (lambda x, t: F.cross_entropy(x, t, reduction="none"),
                              lambda x, t: TF.cross_entropy(x, t, reduction="none"),
                              [*arrays((2, 4, 3, 3)), ids((2, 3, 3), 4)]),
    "cross_entropy_probs": (lambda x, p: F.cross_entropy(x, p.softmax(1), label_smoothing=0.2),
                            lambda x, p: TF.cross_entropy(x, p.softmax(1), label_smoothing=0.2),
                            arrays((4, 3), (4, 3))),
    "nll_loss": (lambda x, t: F.nll_loss(x, t, reduction="sum"),
                 lambda x, t: TF.nll_loss(x, t, reduction="sum"),
                 [*arrays((5, 3)), ids(5, 3)]),
    "mse_loss": (F.mse_loss, TF.mse_loss, arrays((3, 4), (3, 4))),
    "l1_loss": (F.l1_loss, TF.l1_loss, arrays((3, 4), (3, 4))),
    "bce": (lambda x, y: F.binary_cross_entropy(x.sigmoid(), y.sigmoid()),
            lambda x, y: TF.binary_cross_entropy(x.sigmoid(), y.sigmoid()), arrays((3, 4), (3, 4))),
    "bce_with_logits": (lambda x, y: F.binary_cross_entropy_with_logits(x, y.sigmoid()),
                        lambda x, y: TF.binary_cross_entropy_with_logits(x, y.sigmoid()),
                        arrays((3, 4), (3, 4))),
    "kl_div": (lambda x, y: F.kl_div(x.log_softmax(1), y.softmax(1), reduction="batchmean"),
               lambda x, y: TF.kl_div(x.log_softmax(1), y.softmax(1), reduction="batchmean"),
               arrays((3, 4), (3, 4))),
    "sdpa_causal": (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                    lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True),
                    arrays((2, 5, 4), (2, 5, 4), (2, 5, 3))),
    "pad_reflect": (lambda x: F.pad(x, (2, 1, 1, 2), mode="reflect"),
                    lambda x: TF.pad(x, (2, 1, 1, 2), mode="reflect"), arrays((1, 2, 4, 5))),
    "reductions": (shared_reductions, shared_reductions, arrays((4, 6))),
    "indexing": (lambda x: x[[0, 2, 0], 1:] * x[..., ::2].sum(),
                 lambda x: x[[0, 2, 0], 1:] * x[..., ::2].sum(), arrays((3, 4))),
}


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # PyTorch's own note on even kernels
@pytest.mark.parametrize("name", CASES)
def test_matches_pytorch(name):
    ours, theirs, inputs = CASES[name]
    compare(ours, theirs, *inputs)


@pytest.mark.parametrize("shape", [(6, 3), (6, 3, 2, 2), (16, 8, 9, 11), (1, 5, 4, 3)])
@pytest.mark.parametrize("training", [True, False], ids=["training", "eval"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
def test_batch_norm_and_running_statistics(shape, training, affine):
    c = shape[1]
    x, w, b, mean, var = arrays(shape, (c,), (c,), (c,), (c,), seed=sum(shape))
    x = x * 2 + 3
    mine_stats, torch_stats = (mean, var * var + 0.5), (torch.tensor(mean),
                                                        torch.tensor(var * var + 0.5))
    params = (w, b) if affine else ()

    def ours(t, *wb):
        return F.batch_norm(t, *mine_stats, *wb, training=training, momentum=0.3)

    def theirs(t, *wb):
        return TF.batch_norm(t, *torch_stats, *wb, training=training, momentum=0.3)
    compare(ours, theirs, x, *params)
    for mine, reference in zip(mine_stats, torch_stats):
        np.testing.assert_allclose(mine, reference.numpy(), rtol=1e-5)
