"""nn.utils: gradient clipping by global norm and by value."""
import numpy as np
import pytest

from dlcore import nn
from dlcore.nn.utils import clip_grad_norm_, clip_grad_value_


def with_grad(grad):
    p = nn.Parameter(np.zeros(len(grad), dtype=np.float32))
    p.grad = np.array(grad, dtype=np.float32)
    return p


def test_clip_grad_norm_scales_3_4_to_unit_norm():
    p = with_grad([3.0, 4.0])
    assert clip_grad_norm_([p], max_norm=1.0).item() == pytest.approx(5.0)
    np.testing.assert_allclose(p.grad, [0.6, 0.8], rtol=1e-5)


@pytest.mark.parametrize("max_norm", [5.0, 10.0])
def test_clip_grad_norm_leaves_small_gradients_unchanged(max_norm):
    p = with_grad([3.0, 4.0])
    clip_grad_norm_(p, max_norm)
    np.testing.assert_array_equal(p.grad, [3.0, 4.0])


def test_clip_grad_norm_uses_the_norm_of_all_gradients_together():
    a, b, frozen = with_grad([3.0]), with_grad([4.0]), nn.Parameter(np.zeros(2, np.float32))
    clip_grad_norm_([a, b, frozen], 2.5)  # a parameter without a gradient is skipped
    np.testing.assert_allclose([a.grad[0], b.grad[0]], [1.5, 2.0], rtol=1e-5)
    assert frozen.grad is None


def test_clip_grad_norm_infinity_norm():
    p = with_grad([3.0, -4.0])
    assert clip_grad_norm_([p], 2.0, norm_type=float("inf")).item() == 4.0
    np.testing.assert_allclose(p.grad, [1.5, -2.0], rtol=1e-5)


def test_clip_grad_norm_can_refuse_a_non_finite_norm():
    with pytest.raises(RuntimeError, match="total gradient norm is inf"):
        clip_grad_norm_([with_grad([np.inf, 1.0])], 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="max_norm > 0"):
        clip_grad_norm_([with_grad([1.0])], 0.0)


def test_clip_grad_value_clamps_each_element():
    p = with_grad([-3.0, 0.5, 2.0])
    clip_grad_value_([p], 1.0)
    np.testing.assert_array_equal(p.grad, [-1.0, 0.5, 1.0])


def test_utils_is_reachable_as_nn_utils():
    assert nn.utils.clip_grad_norm_ is clip_grad_norm_
