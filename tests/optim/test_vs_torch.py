"""Every optimizer and scheduler against PyTorch's, step by step on the same data."""
import numpy as np
import pytest

from dlcore import optim
from dlcore.optim import lr_scheduler

torch = pytest.importorskip("torch")

OPTIMIZERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, weight_decay=0.1, momentum=0.8, centered=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.2)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1, maximize=True)),
]


@pytest.mark.parametrize("name, options", OPTIMIZERS,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(OPTIMIZERS)])
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_optimizer_matches_torch(name, options, dtype, rtol, make_param):
    rng = np.random.default_rng(0)
    start = [rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal(5).astype(dtype)]
    ours = [make_param(w, dtype) for w in start]
    theirs = [torch.tensor(w.copy(), requires_grad=True) for w in start]
    ours_opt = getattr(optim, name)(ours, **options)
    theirs_opt = getattr(torch.optim, name)(theirs, **options)
    for _ in range(15):
        grads = [rng.standard_normal(w.shape).astype(dtype) for w in start]
        for p, q, g in zip(ours, theirs, grads):
            p.grad, q.grad = g, torch.tensor(g)
        ours_opt.step()
        theirs_opt.step()
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=rtol, atol=rtol)


SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01)),
    ("LinearLR", dict()),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.1, total_iters=8)),
    ("LambdaLR", dict(lr_lambda=lambda t: 1 / (1 + t))),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=25)),
    ("OneCycleLR", dict(max_lr=[1.0, 0.5], epochs=4, steps_per_epoch=6, anneal_strategy="linear",
                        three_phase=True, pct_start=0.25)),
]


def _two_groups(module, params, optimizer_name):
    return getattr(module, optimizer_name)(
        [{"params": params[:1]}, {"params": params[1:], "lr": 0.05}], lr=0.1, **(
            {"momentum": 0.9} if optimizer_name == "SGD" else {}))


@pytest.mark.parametrize("optimizer_name", ["SGD", "Adam"])
@pytest.mark.parametrize("name, options", SCHEDULERS,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULERS)])
def test_scheduler_matches_torch(name, options, optimizer_name, make_param):
    our_params = [make_param(np.zeros(2)), make_param(np.zeros(3))]
    their_params = [torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)]
    ours_opt = _two_groups(optim, our_params, optimizer_name)
    theirs_opt = _two_groups(torch.optim, their_params, optimizer_name)
    ours = getattr(lr_scheduler, name)(ours_opt, **options)
    theirs = getattr(torch.optim.lr_scheduler, name)(theirs_opt, **options)
    steps = 24 if name == "OneCycleLR" else 20
    for _ in range(steps):
        np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-12)
        for mine, other in zip(ours_opt.param_groups, theirs_opt.param_groups):
            for key in ("momentum", "betas"):
                if key in mine:
                    np.testing.assert_allclose(mine[key], other[key], rtol=1e-12)
        theirs_opt.step()
        ours.step()
        theirs.step()


def test_reduce_lr_on_plateau_matches_torch(make_param):
    options = dict(mode="max", factor=0.5, patience=2, threshold=0.1, cooldown=1, min_lr=0.01)
    ours = lr_scheduler.ReduceLROnPlateau(optim.SGD([make_param(np.zeros(2))], lr=1.0), **options)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(
        torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=1.0), **options)
    metrics = [1.0, 1.05, 1.2, 1.0, 1.1, 1.3, 1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1,
               0.0, 0.0]
    for metric in metrics:
        ours.step(metric)
        theirs.step(metric)
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)


def test_noam_matches_lambda_lr_of_the_annotated_transformer(make_param):
    d_model, warmup = 64, 5
    ours = lr_scheduler.NoamLR(optim.Adam([make_param(np.zeros(2))]), d_model, warmup, scale=2.0)

    def rate(step):
        return 2.0 * d_model**-0.5 * min((step + 1) ** -0.5, (step + 1) * warmup**-1.5)

    theirs_opt = torch.optim.Adam([torch.zeros(2, requires_grad=True)], lr=1.0)
    theirs = torch.optim.lr_scheduler.LambdaLR(theirs_opt, rate)
    for _ in range(20):
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)
        theirs_opt.step()
        ours.step()
        theirs.step()
