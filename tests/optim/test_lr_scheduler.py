"""LR schedules: the sequence each produces equals its closed form (FEATURES §5 [STD]), with
PyTorch's step semantics, and a JSON round trip of state_dict resumes the same sequence."""
import json
import math

import numpy as np
import pytest

from dlcore import optim
from dlcore.optim import lr_scheduler

LR = 0.1


@pytest.fixture
def optimizer(make_param):
    return optim.SGD([make_param([1.0])], lr=LR, momentum=0.9)


def lr_sequence(scheduler, steps=20):
    """The lr in force at t = 0 … steps−1 (construction sets t = 0)."""
    lrs = []
    for _ in range(steps):
        lrs.append(scheduler.get_last_lr()[0])
        assert scheduler.optimizer.param_groups[0]["lr"] == lrs[-1]
        scheduler.step()
    return np.array(lrs)


T = np.arange(20)

CLOSED_FORMS = [
    ("StepLR", dict(step_size=3, gamma=0.5), LR * 0.5 ** (T // 3)),
    ("MultiStepLR", dict(milestones=[4, 7, 7], gamma=0.1),
     LR * 0.1 ** np.searchsorted([4, 7, 7], T, side="right")),
    ("ExponentialLR", dict(gamma=0.8), LR * 0.8**T),
    ("CosineAnnealingLR", dict(T_max=8, eta_min=0.01),
     0.01 + (LR - 0.01) * (1 + np.cos(np.pi * T / 8)) / 2),
    ("LinearLR", dict(start_factor=0.25, total_iters=6), LR * (0.25 + 0.75 * np.minimum(T, 6) / 6)),
    ("LambdaLR", dict(lr_lambda=lambda t: 0.95**t + 1 / (t + 1)), LR * (0.95**T + 1 / (T + 1))),
    ("NoamLR", dict(d_model=16, warmup_steps=4, scale=2.0),
     2.0 * 16**-0.5 * np.minimum((T + 1) ** -0.5, (T + 1) * 4**-1.5)),
]


@pytest.mark.parametrize("name, options, expected", CLOSED_FORMS, ids=[c[0] for c in CLOSED_FORMS])
def test_lr_sequence_follows_the_closed_form(optimizer, name, options, expected):
    scheduler = getattr(lr_scheduler, name)(optimizer, **options)
    np.testing.assert_allclose(lr_sequence(scheduler), expected, rtol=1e-12, atol=1e-15)


def test_noam_rises_linearly_to_its_peak_at_warmup_then_decays_as_inverse_sqrt(optimizer):
    lrs = lr_sequence(lr_scheduler.NoamLR(optimizer, d_model=512, warmup_steps=4000), steps=8000)
    t = np.arange(1, 8001)
    assert lrs.argmax() + 1 == 4000
    np.testing.assert_allclose(lrs[:4000] / t[:4000], lrs[0])
    np.testing.assert_allclose(lrs[4000:] * np.sqrt(t[4000:]), 512**-0.5)


def test_chainable_schedules_compose(optimizer):
    warmup = lr_scheduler.LinearLR(optimizer, start_factor=0.5, total_iters=2)
    decay = lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
    lrs = []
    for _ in range(5):
        lrs.append(optimizer.param_groups[0]["lr"])
        warmup.step()
        decay.step()
    t = np.arange(5)
    np.testing.assert_allclose(lrs, LR * (0.5 + 0.5 * np.minimum(t, 2) / 2) * 0.9**t, rtol=1e-12)


def test_one_cycle_warms_up_to_max_lr_then_anneals_to_its_floor(make_param):
    optimizer = optim.Adam([make_param([1.0])], lr=1.0)
    scheduler = lr_scheduler.OneCycleLR(optimizer, max_lr=2.0, total_steps=100, pct_start=0.3)
    lrs, betas = [], []
    for _ in range(100):
        lrs.append(scheduler.get_last_lr()[0])
        betas.append(optimizer.param_groups[0]["betas"][0])
        scheduler.step()
    pct = np.arange(30) / 29  # the warm-up spans steps 0 … pct_start·total − 1
    np.testing.assert_allclose(lrs[:30],
                               2.0 / 25 + (2.0 - 2.0 / 25) * (1 - np.cos(np.pi * pct)) / 2)
    assert lrs[0] == pytest.approx(2.0 / 25) and lrs[29] == 2.0
    assert lrs[99] == pytest.approx(2.0 / 25 / 1e4)
    assert betas[0] == 0.95 and betas[29] == 0.85 and betas[99] == pytest.approx(0.95)
    assert np.all(np.diff(lrs[29:]) < 0)
    with pytest.raises(ValueError, match="tried to step 101 times, but total_steps is 100"):
        scheduler.step()


def test_one_cycle_linear_three_phase(optimizer):
    scheduler = lr_scheduler.OneCycleLR(optimizer, max_lr=1.0, epochs=2, steps_per_epoch=10,
                                        pct_start=0.25, anneal_strategy="linear", three_phase=True,
                                        cycle_momentum=False)
    lrs = lr_sequence(scheduler, steps=20)
    low = 1.0 / 25
    # Up over steps 0 … 4, then back down by step 8.
    np.testing.assert_allclose(lrs[:5], low + (1.0 - low) * np.arange(5) / 4)
    np.testing.assert_allclose(lrs[4:9], 1.0 - (1.0 - low) * np.arange(5) / 4)
    np.testing.assert_allclose(lrs[19], low / 1e4)
    assert optimizer.param_groups[0]["momentum"] == 0.9


def test_reduce_lr_on_plateau_waits_patience_then_cools_down(optimizer):
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=2, cooldown=1,
                                               min_lr=0.02)
    losses = [1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]
    lrs = []
    for loss in losses:
        scheduler.step(loss)
        lrs.append(scheduler.get_last_lr()[0])
    # 3 bad epochs (> patience 2) halve the lr; the next one is cooldown; then 3 more bad epochs.
    assert lrs == [0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025]
    for _ in range(8):
        scheduler.step(0.9)
    assert scheduler.get_last_lr() == [0.02]


@pytest.mark.parametrize("mode, threshold_mode, metrics, improved", [
    ("min", "rel", [1.0, 0.99995], False), ("min", "rel", [1.0, 0.999], True),
    ("min", "abs", [1.0, 0.95], False), ("max", "abs", [1.0, 1.2], True),
    ("max", "rel", [1.0, 1.00001], False),
])
def test_reduce_lr_on_plateau_threshold(optimizer, mode, threshold_mode, metrics, improved):
    threshold = 0.1 if threshold_mode == "abs" else 1e-4
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, mode=mode, threshold=threshold,
                                               threshold_mode=threshold_mode, patience=0)
    for metric in metrics:
        scheduler.step(metric)
    assert (scheduler.best == metrics[-1]) == improved
    assert scheduler.get_last_lr() == [LR if improved else LR * 0.1]


RESUMABLE = [
    ("StepLR", dict(step_size=3)), ("MultiStepLR", dict(milestones=[2, 6])),
    ("ExponentialLR", dict(gamma=0.9)), ("CosineAnnealingLR", dict(T_max=5)), ("LinearLR", dict()),
    ("LambdaLR", dict(lr_lambda=lambda t: 1 / (t + 1))),
    ("NoamLR", dict(d_model=8, warmup_steps=3)), ("OneCycleLR", dict(max_lr=1.0, total_steps=20)),
]


@pytest.mark.parametrize("name, options", RESUMABLE, ids=[r[0] for r in RESUMABLE])
def test_state_dict_round_trip_through_json_resumes_the_sequence(make_param, name, options):
    def fresh():
        optimizer = optim.SGD([make_param([1.0])], lr=LR, momentum=0.9)
        return optimizer, getattr(lr_scheduler, name)(optimizer, **options)

    _, reference = fresh()
    expected = lr_sequence(reference, steps=19)
    optimizer, scheduler = fresh()
    first = lr_sequence(scheduler, steps=8)
    checkpoint = {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}
    saved = json.loads(json.dumps(checkpoint))
    optimizer, scheduler = fresh()
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    resumed = lr_sequence(scheduler, steps=11)
    np.testing.assert_array_equal(np.concatenate([first, resumed]), expected)


def test_lambda_lr_saves_no_lambdas(optimizer):
    state = lr_scheduler.LambdaLR(optimizer, lambda t: 1.0).state_dict()
    assert "lr_lambdas" not in state and state["last_epoch"] == 0


def test_reduce_lr_on_plateau_state_round_trip(optimizer):
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, patience=1)
    for loss in (1.0, 2.0):
        scheduler.step(loss)
    other = lr_scheduler.ReduceLROnPlateau(optimizer, patience=5)
    other.load_state_dict(json.loads(json.dumps(scheduler.state_dict())))
    assert other.state_dict() == scheduler.state_dict()
    other.step(3.0)
    assert other.get_last_lr() == [pytest.approx(LR * 0.1)]


def test_construction_records_initial_lr_and_resuming_needs_it(make_param):
    optimizer = optim.SGD([make_param([1.0])], lr=LR)
    with pytest.raises(ValueError, match="needs 'initial_lr' in param group 0"):
        lr_scheduler.StepLR(optimizer, step_size=2, last_epoch=3)
    lr_scheduler.StepLR(optimizer, step_size=2)
    assert optimizer.param_groups[0]["initial_lr"] == LR
    resumed = lr_scheduler.StepLR(optimizer, step_size=2, last_epoch=3)
    assert resumed.last_epoch == 4 and resumed.get_last_lr() == [LR]


@pytest.mark.parametrize("make, error, message", [
    (lambda o: lr_scheduler.StepLR(o, step_size=0), ValueError, "step_size must be a positive int"),
    (lambda o: lr_scheduler.ExponentialLR(o, gamma=0.0), ValueError, "gamma"),
    (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=2.5), ValueError, "T_max"),
    (lambda o: lr_scheduler.LinearLR(o, start_factor=0.0), ValueError, "start_factor"),
    (lambda o: lr_scheduler.LambdaLR(o, [lambda t: 1.0] * 2), ValueError,
     "one callable or 1 callables"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0), ValueError, "total_steps, or both epochs"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=9, anneal_strategy="exp"),
     ValueError, "'cos'"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=9), ValueError,
     "2 values for 1"),
    (lambda o: lr_scheduler.NoamLR(o, d_model=8, warmup_steps=-1), ValueError, "warmup_steps"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0), ValueError, "factor"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="up"), ValueError, "mode"),
    (lambda o: lr_scheduler.StepLR(object(), step_size=1), TypeError,
     "expects a dlcore.optim Optimizer"),
    (lambda o: lr_scheduler.StepLR(o, step_size=1).load_state_dict({"gamma": 0.5}), ValueError,
     "expects keys"),
])
def test_bad_arguments_are_rejected_by_name(optimizer, make, error, message):
    with pytest.raises(error, match=message):
        make(optimizer)


def test_one_cycle_needs_momentum_to_cycle(make_param):
    optimizer = optim.Adagrad([make_param([1.0])])
    with pytest.raises(ValueError,
                       match="needs an optimizer with momentum or betas, Adagrad has neither"):
        lr_scheduler.OneCycleLR(optimizer, max_lr=1.0, total_steps=10)
    lr_scheduler.OneCycleLR(optimizer, max_lr=1.0, total_steps=10, cycle_momentum=False)
    assert math.isclose(optimizer.param_groups[0]["lr"], 1.0 / 25)
