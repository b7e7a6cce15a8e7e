"""dlcore.checks: each check returns the normalised value or one error naming owner and argument."""
import math

import numpy as np
import pytest

from dlcore import checks, optim
from dlcore.nn import Parameter


def test_positive_int_normalises_numpy_ints_and_refuses_the_rest():
    assert checks.positive_int("Linear", "in_features", np.int64(3)) == 3
    assert type(checks.positive_int(None, "n", np.int32(2))) is int
    for bad in (0, -1, 2.0, True, "3", None):
        with pytest.raises(ValueError, match=r"^Linear: in_features must be a positive int, got "):
            checks.positive_int("Linear", "in_features", bad)


def test_pair_accepts_int_tuple_list_and_applies_the_minimum():
    assert checks.pair("Conv2d", "stride", 2, minimum=1) == (2, 2)
    assert checks.pair("Conv2d", "padding", [0, np.int16(3)]) == (0, 3)
    for bad in (0, (1, 0), (1, 2, 3), (1.0, 2), "2", (True, 1), None):
        with pytest.raises(ValueError, match=r"^Conv2d: stride must be an int or a pair of ints "
                                             r">= 1, got "):
            checks.pair("Conv2d", "stride", bad, minimum=1)


def test_in_range_bounds_open_and_closed_and_refuses_nan_and_non_numbers():
    assert checks.in_range("x", "p", 1, 0.0, 1.0) == 1.0
    assert checks.in_range("x", "p", 0.5, 0.0, 1.0, low_open=True, high_open=True) == 0.5
    with pytest.raises(ValueError, match=r"^x: p must be in \[0, 1\), got 1"):
        checks.in_range("x", "p", 1.0, 0.0, 1.0, high_open=True)
    with pytest.raises(ValueError, match=r"\(0, inf\], got 0"):
        checks.in_range("x", "gamma", 0.0, low_open=True)
    with pytest.raises(ValueError, match="got nan"):
        checks.in_range("x", "p", math.nan, 0.0, 1.0)
    with pytest.raises(TypeError, match="must be a real number, got '1'"):
        checks.in_range("x", "p", "1")


def test_one_of_lists_the_choices_in_order():
    assert checks.one_of("pad", "mode", "reflect", ("constant", "reflect")) == "reflect"
    for bad in ("mirror", None, ["reflect"]):
        with pytest.raises(ValueError, match=r"^pad: mode must be one of 'constant', 'reflect', "
                                             r"got "):
            checks.one_of("pad", "mode", bad, ("constant", "reflect"))


def test_an_object_owner_is_named_by_its_class():
    sgd = optim.SGD([Parameter(np.zeros(1, np.float32))], lr=0.1)
    with pytest.raises(ValueError, match=r"^SGD: lr must be"):
        checks.in_range(sgd, "lr", -1.0)
    with pytest.raises(ValueError, match=r"^n must be a positive int"):
        checks.positive_int(None, "n", 0)
