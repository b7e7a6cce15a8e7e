"""dlcore.Tensor: construction, dtypes, conversions and the autograd tape."""
import json

import numpy as np
import pytest

import dlcore
from dlcore import random as dlrandom


class TestConstruction:
    def test_python_floats_are_float32_and_ints_int64(self):
        assert dlcore.tensor([1.5, 2.0]).dtype == np.float32
        assert dlcore.tensor([1, 2]).dtype == np.int64
        assert dlcore.tensor([True, False]).dtype == np.bool_

    def test_float64_arrays_become_float32_unless_asked(self):
        data = np.arange(3.0)
        assert dlcore.tensor(data).dtype == np.float32
        assert dlcore.tensor(data, dtype=np.float64).dtype == np.float64
        assert dlcore.tensor(data, dtype="float64").dtype == dlcore.float64

    def test_tensor_copies_its_data(self):
        data = np.zeros(3, dtype=np.float32)
        t = dlcore.tensor(data)
        data[0] = 1
        assert t.data[0] == 0

    def test_strings_are_refused(self):
        with pytest.raises(TypeError, match="numbers or booleans"):
            dlcore.tensor(["a"])

    def test_only_floats_can_require_grad(self):
        with pytest.raises(TypeError, match="floating-point"):
            dlcore.tensor([1, 2], requires_grad=True)

    @pytest.mark.parametrize("factory", [dlcore.zeros, dlcore.ones, dlcore.randn, dlcore.rand])
    def test_factories_take_sizes_as_varargs_or_a_tuple(self, factory):
        a, b = factory(2, 3), factory((2, 3))
        assert a.shape == b.shape == (2, 3) and a.dtype == b.dtype == np.float32

    def test_factories_refuse_negative_sizes(self):
        with pytest.raises(ValueError, match="non-negative"):
            dlcore.zeros(2, -1)

    def test_full_follows_its_fill_value(self):
        assert dlcore.full((2,), 3).dtype == np.int64
        assert dlcore.full((2,), 0.5).tolist() == [0.5, 0.5]

    def test_arange_is_int64_for_ints_and_float32_otherwise(self):
        assert dlcore.arange(4).tolist() == [0, 1, 2, 3] and dlcore.arange(4).dtype == np.int64
        assert dlcore.arange(0, 1, 0.5).dtype == np.float32

    def test_like_factories_copy_shape_and_dtype(self):
        t = dlcore.zeros(2, 3, dtype=np.float64)
        for like in (dlcore.zeros_like(t), dlcore.ones_like(t), dlcore.randn_like(t),
                     dlcore.rand_like(t), dlcore.full_like(t, 7)):
            assert like.shape == (2, 3) and like.dtype == np.float64
        assert dlcore.full_like(t, 7).data.max() == 7

    def test_other_factories(self):
        assert np.array_equal(dlcore.eye(2).data, np.eye(2))
        assert dlcore.linspace(0, 1, 5).tolist() == [0, 0.25, 0.5, 0.75, 1]
        assert sorted(dlcore.randperm(5).tolist()) == [0, 1, 2, 3, 4]
        ints = dlcore.randint(2, 5, (100,))
        assert ints.dtype == np.int64 and 2 <= ints.data.min() and ints.data.max() < 5


class TestRandom:
    def test_manual_seed_makes_draws_reproducible(self):
        dlcore.manual_seed(3)
        first = dlcore.randn(4).tolist()
        dlcore.manual_seed(3)
        assert dlcore.randn(4).tolist() == first

    def test_state_round_trips_through_json(self):
        dlcore.manual_seed(0)
        state = json.loads(json.dumps(dlrandom.get_state()))
        expected = dlcore.rand(3).tolist()
        dlrandom.set_state(state)
        assert dlcore.rand(3).tolist() == expected

    def test_bad_seed_and_state_are_refused(self):
        with pytest.raises(ValueError, match="non-negative int"):
            dlcore.manual_seed(-1)
        with pytest.raises(ValueError, match="PCG64"):
            dlrandom.set_state({"bit_generator": "MT19937"})


class TestConversions:
    def test_array_facts(self):
        t = dlcore.zeros(2, 3)
        assert (t.shape, t.ndim, t.size(), t.size(1), t.numel(), len(t)) == (
            (2, 3), 2, (2, 3), 3, 6, 2)

    def test_numpy_shares_memory_and_item_gives_a_python_number(self):
        t = dlcore.tensor([2.5])
        assert t.numpy() is t.data
        assert t.item() == 2.5 and isinstance(t.item(), float)
        with pytest.raises(ValueError, match="single-element"):
            dlcore.zeros(2).item()

    def test_casts(self):
        t = dlcore.tensor([1.7, -2.2])
        assert t.double().dtype == np.float64
        assert t.long().tolist() == [1, -2]
        assert t.long().float().dtype == np.float32

    def test_repr_names_dtype_and_grad(self):
        assert repr(dlcore.tensor([1.0, 2.0])) == "tensor([1., 2.])"
        assert "requires_grad=True" in repr(dlcore.ones(1, requires_grad=True))
        assert "dtype=float64" in repr(dlcore.ones(1, dtype=np.float64))

    def test_iteration_and_transpose(self):
        t = dlcore.arange(6).reshape(2, 3)
        assert [row.tolist() for row in t] == [[0, 1, 2], [3, 4, 5]]
        assert t.T.shape == (3, 2)

    def test_comparisons_give_bool_tensors_without_grad(self):
        x = dlcore.tensor([1.0, 2.0, 3.0], requires_grad=True)
        mask = x > 1.5
        assert mask.tolist() == [False, True, True] and not mask.requires_grad
        assert (x == 2.0).tolist() == [False, True, False]

    def test_tensors_stay_hashable(self):
        x = dlcore.ones(1)
        assert {x: 1}[x] == 1

    def test_ndarray_on_the_left_defers_to_the_tensor(self):
        result = np.ones(2, dtype=np.float32) + dlcore.ones(2)
        assert isinstance(result, dlcore.Tensor) and result.tolist() == [2, 2]

    def test_setitem_only_without_grad(self):
        t = dlcore.zeros(3)
        t[1] = 5
        t[dlcore.tensor([0])] = dlcore.tensor([2.0])
        assert t.tolist() == [2, 5, 0]
        w = dlcore.zeros(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="requires grad"):
            w[0] = 1
        with dlcore.no_grad():
            w[0] = 1
        assert w.tolist() == [1, 0, 0]


class TestAutograd:
    def test_gradient_of_a_small_expression(self):
        x = dlcore.tensor([1.0, 2.0], requires_grad=True)
        ((x * x).sum() + x.sum()).backward()
        assert x.grad.tolist() == [3.0, 5.0] and x.grad.dtype == np.float32

    def test_a_tensor_used_twice_gets_both_gradients(self):
        x = dlcore.tensor(3.0, requires_grad=True)
        y = x * 2
        (y * y + y).backward()  # d/dx (4x² + 2x) = 8x + 2
        assert x.grad == 26.0

    def test_leaf_gradients_accumulate_across_backward_calls(self):
        x = dlcore.tensor([1.0], requires_grad=True)
        (x * 3).sum().backward()
        (x * 3).sum().backward()
        assert x.grad.tolist() == [6.0]

    def test_only_leaves_keep_grad(self):
        x = dlcore.tensor([1.0], requires_grad=True)
        y = x * 2
        y.sum().backward()
        assert y.grad is None and not y.is_leaf and x.is_leaf

    def test_leaves_do_not_share_gradient_arrays(self):
        a, b = dlcore.ones(2, requires_grad=True), dlcore.ones(2, requires_grad=True)
        (a + b).sum().backward()
        a.grad += 1
        assert b.grad.tolist() == [1, 1]

    def test_broadcast_inputs_get_gradients_of_their_own_shape(self):
        x = dlcore.ones(4, 3, requires_grad=True)
        bias = dlcore.ones(3, requires_grad=True)
        column = dlcore.ones(4, 1, requires_grad=True)
        (x * column + bias).sum().backward()
        assert bias.grad.tolist() == [4, 4, 4]
        assert column.grad.tolist() == [[3], [3], [3], [3]]

    def test_backward_needs_a_scalar_or_a_gradient(self):
        x = dlcore.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="single-element"):
            (x * 2).backward()
        with pytest.raises(ValueError, match=r"expects shape \(2,\)"):
            (x * 2).backward(np.ones(3))
        (x * 2).backward(np.array([1.0, 10.0]))
        assert x.grad.tolist() == [2, 20]

    def test_backward_of_a_constant_is_refused(self):
        with pytest.raises(RuntimeError, match="does not require grad"):
            dlcore.ones(1).backward()

    def test_no_grad_records_nothing(self):
        x = dlcore.ones(2, requires_grad=True)
        with dlcore.no_grad():
            assert not dlcore.is_grad_enabled()
            y = x * 2
            with dlcore.enable_grad():
                z = x * 2
        assert dlcore.is_grad_enabled()
        assert not y.requires_grad and z.requires_grad

    def test_no_grad_as_a_decorator(self):
        @dlcore.no_grad()
        def double(t):
            return t * 2
        assert not double(dlcore.ones(1, requires_grad=True)).requires_grad

    def test_detach_cuts_the_graph_and_shares_data(self):
        x = dlcore.ones(2, requires_grad=True)
        d = (x * 2).detach()
        assert not d.requires_grad
        assert dlcore.tensor(d).requires_grad is False

    def test_requires_grad_false_on_a_non_leaf_is_refused(self):
        with pytest.raises(RuntimeError, match="detach"):
            (dlcore.ones(1, requires_grad=True) * 2).requires_grad_(False)

    def test_deep_graphs_do_not_recurse(self):
        x = dlcore.tensor(0.0, requires_grad=True)
        y = x
        for _ in range(5000):
            y = y + 1
        y.backward()
        assert x.grad == 1.0


def test_leaves_never_share_a_gradient_array():
    """backward may adopt an unshared gradient as .grad, never one another leaf also gets."""
    a = dlcore.tensor([1.0, 2.0], requires_grad=True)
    b = dlcore.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    assert a.grad is not b.grad
    a.grad[0] = 100.0
    assert b.grad[0] == 1.0


def test_a_user_supplied_gradient_is_never_kept_as_grad():
    a = dlcore.tensor([1.0, 2.0], requires_grad=True)
    seed = np.ones(2, dtype=np.float32)
    (a * 1.0).backward(gradient=seed)
    a.grad[0] = 7.0
    assert seed[0] == 1.0
    b = dlcore.tensor([1.0, 2.0], requires_grad=True)
    b.backward(gradient=seed)
    b.grad[1] = 9.0
    assert seed[1] == 1.0
