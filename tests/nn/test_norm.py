"""BatchNorm1d/2d and LayerNorm on the facts of FEATURES §11."""
import numpy as np
import pytest

import dlcore
from dlcore import nn
from dlcore.testing import gradcheck

EPS = 1e-5


def features(n=64, scales=(1.0, 3.0, 0.01), seed=0):
    """(n, len(scales)) with feature j ~ N(j, scales[j]²)."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, len(scales))) * scales + np.arange(len(scales))).astype(
        np.float32)


def test_batchnorm_train_mode_output_has_mean_0_and_variance_var_over_var_plus_eps():
    x = features(scales=(1.0, 3.0, 0.003))
    out = nn.BatchNorm1d(3)(dlcore.tensor(x)).data
    var = x.var(axis=0)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(out.var(axis=0), var / (var + EPS), rtol=1e-3)
    assert out.var(axis=0)[2] < 0.6  # a tiny variance shows the ε in the denominator


def test_batchnorm_with_gamma_root_var_and_beta_mean_is_the_identity():
    x = features()
    bn = nn.BatchNorm1d(3)
    bn.weight.data[...] = np.sqrt(x.var(axis=0) + EPS)
    bn.bias.data[...] = x.mean(axis=0)
    np.testing.assert_allclose(bn(dlcore.tensor(x)).data, x, rtol=1e-4, atol=1e-5)


def test_batchnorm_of_identical_examples_outputs_beta():
    bn = nn.BatchNorm1d(4)
    bn.bias.data[...] = [1, 2, 3, 4]
    x = dlcore.tensor(np.tile(np.float32([[5, -1, 0.5, 7]]), (3, 1)))
    np.testing.assert_allclose(bn(x).data, np.tile(bn.bias.data, (3, 1)), atol=1e-6)


def test_batchnorm_refuses_a_batch_of_one_in_training_but_not_in_eval():
    bn = nn.BatchNorm1d(4)
    with pytest.raises(ValueError, match="more than one value per channel"):
        bn(dlcore.randn(1, 4))
    assert int(bn.num_batches_tracked.item()) == 0  # the refused batch is not counted
    assert bn.eval()(dlcore.randn(1, 4)).shape == (1, 4)


def test_running_stats_update_like_pytorch():
    bn = nn.BatchNorm1d(3, momentum=0.1)
    x = features()
    bn(dlcore.tensor(x))
    np.testing.assert_allclose(bn.running_mean.data, 0.1 * x.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.data, 0.9 + 0.1 * x.var(axis=0, ddof=1), rtol=1e-5)
    assert bn.num_batches_tracked.item() == 1


def test_momentum_none_takes_the_cumulative_average():
    bn = nn.BatchNorm1d(3, momentum=None)
    a, b = features(seed=1), features(seed=2)
    bn(dlcore.tensor(a))
    bn(dlcore.tensor(b))
    np.testing.assert_allclose(bn.running_mean.data, (a.mean(axis=0) + b.mean(axis=0)) / 2,
                               rtol=1e-5)
    assert bn.num_batches_tracked.item() == 2


def test_eval_mode_uses_the_running_statistics():
    bn = nn.BatchNorm1d(3)
    for seed in range(3):
        bn(dlcore.tensor(features(seed=seed)))
    bn.eval()
    x = features(n=5, seed=9)
    before = bn.running_mean.data.copy()
    expected = ((x - bn.running_mean.data) / np.sqrt(bn.running_var.data + EPS) * bn.weight.data
                + bn.bias.data)
    np.testing.assert_allclose(bn(dlcore.tensor(x)).data, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(bn.running_mean.data, before)


def test_without_running_stats_eval_uses_batch_statistics():
    bn = nn.BatchNorm1d(3, track_running_stats=False).eval()
    assert list(bn.named_buffers()) == []
    out = bn(dlcore.tensor(features())).data
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-4)


def test_batchnorm2d_normalises_each_channel_over_n_h_w():
    x = np.random.default_rng(0).standard_normal((4, 3, 5, 5)).astype(np.float32) * 2 + 1
    out = nn.BatchNorm2d(3)(dlcore.tensor(x)).data
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), 1, rtol=1e-3)


def test_batchnorm_has_2_trainable_and_2_running_buffers_per_channel():
    bn = nn.BatchNorm2d(16)
    assert bn.num_parameters() == 32
    assert [(name, b.shape) for name, b in bn.named_buffers()] == [
        ("running_mean", (16,)), ("running_var", (16,)), ("num_batches_tracked", ())]
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                     "num_batches_tracked"]
    assert nn.BatchNorm1d(16, affine=False).num_parameters() == 0


def test_batchnorm_gradients_match_finite_differences():
    bn = nn.BatchNorm1d(3).to(np.float64)
    x = dlcore.tensor(features(n=6).astype(np.float64), dtype=np.float64, requires_grad=True)
    assert gradcheck(lambda x, w, b: bn(x), x, bn.weight, bn.bias)


def test_batchnorm_errors_name_the_layer_and_shape():
    net = nn.Module()
    net.bn = nn.BatchNorm2d(8)
    with pytest.raises(ValueError, match=r"BatchNorm2d 'bn' expects input \(N, C, H, W\) with "
                                         r"C=num_features=8, got input of shape \(2, 4, 3, 3\)"):
        net.bn(dlcore.randn(2, 4, 3, 3))
    with pytest.raises(ValueError, match=r"BatchNorm1d expects input \(N, C\) or \(N, C, L\)"):
        nn.BatchNorm1d(8)(dlcore.randn(2, 8, 3, 3))


def test_layernorm_normalises_each_example_over_its_features():
    x = dlcore.tensor(features(n=6, scales=(1.0, 5.0, 0.5, 2.0)).T.copy())  # (4, 6)
    ln = nn.LayerNorm(6)
    out = ln(x).data
    np.testing.assert_allclose(out.mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(out.var(axis=1), 1, rtol=1e-3)
    np.testing.assert_array_equal(ln.eval()(x).data, out)  # same in train and eval


def test_layernorm_over_trailing_dims_with_affine_parameters():
    ln = nn.LayerNorm((3, 4))
    assert ln.weight.shape == (3, 4) and ln.num_parameters() == 24
    assert ln(dlcore.randn(2, 5, 3, 4)).shape == (2, 5, 3, 4)
    assert nn.LayerNorm(4, bias=False).bias is None
    assert nn.LayerNorm(4, elementwise_affine=False).num_parameters() == 0
    with pytest.raises(ValueError, match=r"LayerNorm expects input \(\*, 3, 4\) "
                                         r"\(normalized_shape=\(3, 4\)\), got input of shape"):
        ln(dlcore.randn(2, 4, 3))
