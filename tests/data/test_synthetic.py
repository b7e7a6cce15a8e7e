"""Synthetic datasets: shapes, seeded reproducibility, and the structure they promise."""
import numpy as np
import pytest

from dlcore.data import linear_regression, noisy_sine, two_spirals


def everything(dataset):
    return dataset.get_batch(np.arange(len(dataset)))


def test_linear_regression_recovers_its_weights_by_least_squares():
    x, y = everything(linear_regression(num_samples=500, weights=(2.0, -3.4), bias=4.2))
    assert x.shape == (500, 2) and y.shape == (500, 1) and x.dtype == np.float32
    design = np.hstack([x, np.ones((500, 1), np.float32)])
    solution = np.linalg.lstsq(design, y, rcond=None)[0].ravel()
    np.testing.assert_allclose(solution, [2.0, -3.4, 4.2], atol=0.01)


def test_same_seed_same_data_other_split_other_data():
    same = [everything(two_spirals(seed=3))[0] for _ in range(2)]
    np.testing.assert_array_equal(*same)
    assert not np.array_equal(same[0], everything(two_spirals("test", seed=3))[0])
    assert not np.array_equal(same[0], everything(two_spirals(seed=4))[0])


def test_spiral_arms_are_point_reflections_of_each_other():
    x, y = everything(two_spirals(num_samples=400, noise=0.0))
    assert x.shape == (400, 2) and y.dtype == np.int64 and set(y.tolist()) == {0, 1}
    radius, angle = np.hypot(*x.T), np.arctan2(x[:, 1], x[:, 0])
    expected = 2 * np.pi * 1.5 * radius + np.pi * y  # angle of a point on arm y
    np.testing.assert_allclose(np.cos(angle - expected), 1.0, atol=1e-4)


def test_noisy_sine_windows_predict_the_next_value():
    features, targets = everything(noisy_sine(length=100, num_steps=4, noise=0.0))
    assert features.shape == (96, 4) and targets.shape == (96, 1)
    np.testing.assert_allclose(features[1, :3], features[0, 1:])
    np.testing.assert_allclose(targets[0, 0], np.sin(0.05), rtol=1e-6)
    with pytest.raises(ValueError, match="length must exceed num_steps"):
        noisy_sine(length=4, num_steps=4)
