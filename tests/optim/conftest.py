"""Shared fixture: parameters of a chosen dtype (float64 for exact comparisons)."""
import numpy as np
import pytest

from dlcore.nn.parameter import Parameter


@pytest.fixture
def make_param():
    """``make_param(values, dtype=np.float64)`` → a Parameter holding a copy of ``values``."""

    def make(values, dtype=np.float64):
        param = Parameter(np.zeros(np.shape(values)))
        param.data = np.array(values, dtype=dtype)  # Parameter() itself keeps only float32
        return param

    return make
