"""PyTorch habits that just work (or fail with a clear message): devices, from_numpy, moving
modules, fresh DataLoader passes, NumPy batches, torchvision-style dataset arguments."""
import numpy as np
import pytest

import dlcore
from dlcore import nn
from dlcore.data import get_dataset


def test_tensors_live_on_the_cpu_and_to_takes_devices_dtypes_and_tensors():
    t = dlcore.randn(2, 3)
    assert t.device == "cpu" and t.device == dlcore.device("cpu") and str(t.device) == "cpu"
    assert t.device.type == "cpu" and repr(t.device) == "device(type='cpu')"
    assert t.cpu() is t and t.to("cpu") is t and t.to(dlcore.device("cpu:0")) is t
    assert t.to("float64").dtype == np.float64 and t.to(np.float64).dtype == np.float64
    assert t.to("cpu", np.float64).dtype == np.float64
    assert t.to(device="cpu", dtype=np.float64).dtype == np.float64
    assert t.to(dlcore.zeros(1, dtype=np.float64)).dtype == np.float64
    for bad in ("cuda", "cuda:0", "mps"):
        with pytest.raises(ValueError, match=f"CPU only; device '{bad}' is not available"):
            t.to(bad)
    with pytest.raises(TypeError, match="takes a dtype, a device or a tensor"):
        t.to("cpu", np.float32, np.float64)


def test_to_a_dtype_stays_differentiable():
    x = dlcore.randn(3, requires_grad=True)
    x.to("cpu", np.float64).sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones(3, np.float32))


def test_modules_move_to_the_cpu_and_refuse_other_devices():
    layer = nn.Linear(3, 2)
    weight = layer.weight
    assert layer.to("cpu") is layer and layer.cpu() is layer and layer.weight is weight
    assert layer.to(dlcore.device("cpu"), np.float64).weight.dtype == np.float64
    with pytest.raises(ValueError, match="CPU only"):
        layer.to("cuda")


def test_from_numpy_shares_memory_and_keeps_the_dtype():
    array = np.zeros(3)
    t = dlcore.from_numpy(array)
    assert t.dtype == np.float64 and np.shares_memory(t.numpy(), array)
    array[0] = 5.0
    assert t.tolist() == [5.0, 0.0, 0.0]
    with pytest.raises(TypeError, match="expects a numpy.ndarray, got list"):
        dlcore.from_numpy([1.0])


def test_a_numpy_batch_into_a_model_is_a_clear_error_naming_the_fix():
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    batch = np.ones((2, 1, 2, 2), np.float32)
    with pytest.raises(TypeError, match=r"Flatten '0' expects a Tensor input, got ndarray "
                                        r"\(wrap NumPy arrays .* dlcore\.from_numpy\(x\)"):
        model(batch)
    assert model(dlcore.from_numpy(batch)).shape == (2, 2)


def test_datasets_take_torchvision_train_flags():
    train, test = (get_dataset("two-spirals", train=flag) for flag in (True, False))
    np.testing.assert_array_equal(train[0][0], get_dataset("two-spirals", "train")[0][0])
    np.testing.assert_array_equal(test[0][0], get_dataset("two-spirals", "test")[0][0])
    assert not np.array_equal(train[0][0], test[0][0])
    with pytest.raises(ValueError, match="not both"):
        get_dataset("two-spirals", "test", train=True)


@pytest.mark.parametrize("make", [
    lambda d: dlcore.zeros(2, device=d), lambda d: dlcore.ones(2, 3, device=d),
    lambda d: dlcore.randn(2, device=d), lambda d: dlcore.arange(3, device=d),
    lambda d: dlcore.tensor([1.0], device=d), lambda d: dlcore.zeros_like(dlcore.ones(2), device=d),
    lambda d: dlcore.eye(2, device=d), lambda d: dlcore.full((2,), 1.5, device=d),
])
def test_factories_take_a_device_keyword(make):
    assert make("cpu").device == "cpu" and make(dlcore.device("cpu")).device == "cpu"
    with pytest.raises(ValueError, match="CPU only"):
        make("cuda")
