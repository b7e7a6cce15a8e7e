"""Optimizer state_dict: numbers and arrays only, flattenable to .npz + JSON, resuming exactly."""
import io
import json

import numpy as np
import pytest

from dlcore import optim

CONFIGS = [
    (optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
    (optim.Adam, dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    (optim.AdamW, dict(lr=0.01)),
    (optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
    (optim.Adagrad, dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)),
    (optim.Adadelta, dict(weight_decay=0.01)),
]
IDS = [f"{cls.__name__}-{i}" for i, (cls, _) in enumerate(CONFIGS)]


def make_setup(make_param, cls, options):
    """Two float32 parameters in two groups, and a fixed stream of gradients."""
    rng = np.random.default_rng(0)
    params = [make_param(rng.standard_normal((3, 2)), np.float32),
              make_param(rng.standard_normal(4), np.float32)]
    optimizer = cls([{"params": params[:1]}, {"params": params[1:], "lr": 0.05}], **options)
    return params, optimizer


def run(params, optimizer, steps, start):
    for step in range(start, start + steps):
        rng = np.random.default_rng(step)
        for param in params:
            param.grad = rng.standard_normal(param.data.shape).astype(np.float32)
        optimizer.step()


def through_npz_and_json(state_dict):
    """What a checkpoint writer does: arrays into an .npz, everything else into JSON."""
    arrays, numbers = {}, {}
    for index, entries in state_dict["state"].items():
        for name, value in entries.items():
            if isinstance(value, np.ndarray):
                arrays[f"{index}/{name}"] = value
            else:
                numbers[f"{index}/{name}"] = value
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as saved:
        arrays = {key: saved[key] for key in saved.files}
    meta = json.loads(json.dumps({"numbers": numbers, "param_groups": state_dict["param_groups"]}))
    state = {}
    for key, value in [*arrays.items(), *meta["numbers"].items()]:
        index, name = key.split("/")
        state.setdefault(index, {})[name] = value
    return {"state": state, "param_groups": meta["param_groups"]}


@pytest.mark.parametrize("cls, options", CONFIGS, ids=IDS)
def test_resuming_from_a_checkpoint_continues_bit_for_bit(make_param, cls, options):
    params, optimizer = make_setup(make_param, cls, options)
    run(params, optimizer, 10, start=0)
    uninterrupted = [p.data.copy() for p in params]

    params, optimizer = make_setup(make_param, cls, options)
    run(params, optimizer, 5, start=0)
    checkpoint = through_npz_and_json(optimizer.state_dict())
    weights = [p.data.copy() for p in params]
    params, resumed = make_setup(make_param, cls, options)
    for param, saved in zip(params, weights):
        param.data[...] = saved
    resumed.load_state_dict(checkpoint)
    run(params, resumed, 5, start=5)
    for param, expected in zip(params, uninterrupted):
        np.testing.assert_array_equal(param.data, expected)


def test_state_dict_layout(make_param):
    params, optimizer = make_setup(make_param, optim.Adam, dict(lr=0.01))
    run(params, optimizer, 2, start=0)
    saved = optimizer.state_dict()
    assert saved["param_groups"] == [
        dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, maximize=False,
             params=[0]),
        dict(lr=0.05, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, maximize=False,
             params=[1]),
    ]
    assert set(saved["state"]) == {0, 1}
    assert saved["state"][0]["step"] == 2
    assert {name: value.shape for name, value in saved["state"][1].items() if name != "step"} == {
        "exp_avg": (4,), "square_avg": (4,)}


def test_state_dict_is_a_snapshot(make_param):
    params, optimizer = make_setup(make_param, optim.SGD, dict(lr=0.1, momentum=0.9))
    run(params, optimizer, 1, start=0)
    saved = optimizer.state_dict()
    buffer = saved["state"][0]["momentum_buffer"].copy()
    run(params, optimizer, 1, start=1)
    optimizer.param_groups[0]["lr"] = 1.0
    np.testing.assert_array_equal(saved["state"][0]["momentum_buffer"], buffer)
    assert saved["param_groups"][0]["lr"] == 0.1


def test_loading_restores_group_options_and_casts_state_to_the_parameter_dtype(make_param):
    params, optimizer = make_setup(make_param, optim.Adam, dict(lr=0.01, betas=(0.8, 0.9)))
    run(params, optimizer, 1, start=0)
    saved = optimizer.state_dict()
    saved["state"][0]["exp_avg"] = saved["state"][0]["exp_avg"].astype(np.float64)
    params, fresh = make_setup(make_param, optim.Adam, dict(lr=0.5))
    fresh.load_state_dict(json.loads(json.dumps(saved, default=lambda a: a.tolist())))
    assert fresh.param_groups[0]["lr"] == 0.01 and fresh.param_groups[0]["betas"] == (0.8, 0.9)
    assert fresh.param_groups[0]["params"][0] is params[0]
    assert fresh.state[0]["exp_avg"].dtype == np.float32


@pytest.mark.parametrize("corrupt, message", [
    (lambda s: s["param_groups"].pop(),
     "the state dict has 1 parameter groups, the optimizer has 2"),
    (lambda s: s["param_groups"][1]["params"].append(2),
     "group 1 has 2 parameters in the state dict, 1 in"),
    (lambda s: s["state"][0].update(momentum_buffer=np.zeros((2, 3))),
     r"'momentum_buffer' of parameter 0 has shape \(2, 3\), the parameter has shape \(3, 2\)"),
    (lambda s: s["state"].update({7: {}}), "state for parameter 7, but there are 2"),
    (lambda s: s.pop("state"), "keys 'state' and 'param_groups'"),
    (lambda s: s["param_groups"][0].update(lr=-1.0), "lr must be in"),
])
def test_loading_a_mismatched_state_dict_fails_clearly(make_param, corrupt, message):
    params, optimizer = make_setup(make_param, optim.SGD, dict(lr=0.1, momentum=0.9))
    run(params, optimizer, 1, start=0)
    saved = optimizer.state_dict()
    corrupt(saved)
    params, fresh = make_setup(make_param, optim.SGD, dict(lr=0.1, momentum=0.9))
    before = fresh.state_dict()
    with pytest.raises(ValueError, match=message):
        fresh.load_state_dict(saved)
    assert fresh.state_dict()["param_groups"] == before["param_groups"] and fresh.state == {}
