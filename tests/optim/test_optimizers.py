"""The optimizers' update rules (FEATURES §5 [STD]) and their PyTorch-shaped API.

The loss is the quadratic f(θ) = ½ Σ aᵢθᵢ², whose gradient a⊙θ makes every step computable by
hand; each test replays an algorithm's textbook formulas next to the optimizer.
"""
import numpy as np
import pytest

from dlcore import optim

A = np.array([1.0, 3.0, 0.5])
THETA0 = np.array([1.0, -2.0, 0.5])


def quadratic_grad(theta):
    return A * theta


def trajectory(make_param, optimizer_cls, steps=4, **options):
    """θ after each of ``steps`` updates on the quadratic."""
    param = make_param(THETA0)
    optimizer = optimizer_cls([param], **options)
    thetas = []
    for _ in range(steps):
        param.grad = quadratic_grad(param.data)
        optimizer.step()
        thetas.append(param.data.copy())
    return np.array(thetas)


def replay(update, steps=4):
    """θ after each step of ``update(θ, g, t) -> θ`` (t from 1), the formula under test."""
    theta, thetas = THETA0.copy(), []
    for t in range(1, steps + 1):
        theta = update(theta, quadratic_grad(theta), t)
        thetas.append(theta)
    return np.array(thetas)


def test_sgd_is_gradient_descent(make_param):
    lr = 0.1
    expected = replay(lambda theta, g, t: theta - lr * g)
    np.testing.assert_allclose(trajectory(make_param, optim.SGD, lr=lr), expected, rtol=1e-15)


def test_sgd_weight_decay_shrinks_then_steps(make_param):
    lr, decay = 0.1, 0.2
    expected = replay(lambda theta, g, t: (1 - lr * decay) * theta - lr * g)
    np.testing.assert_allclose(trajectory(make_param, optim.SGD, lr=lr, weight_decay=decay),
                               expected, rtol=1e-14)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum(make_param, nesterov):
    lr, mu = 0.1, 0.9
    velocity = np.zeros_like(THETA0)

    def update(theta, g, t):
        nonlocal velocity
        velocity = mu * velocity + g
        return theta - lr * (g + mu * velocity if nesterov else velocity)

    actual = trajectory(make_param, optim.SGD, lr=lr, momentum=mu, nesterov=nesterov)
    np.testing.assert_allclose(actual, replay(update), rtol=1e-14)


def test_sgd_dampening_scales_all_but_the_first_gradient(make_param):
    lr, mu, tau = 0.1, 0.5, 0.3
    velocity = None

    def update(theta, g, t):
        nonlocal velocity
        velocity = g if velocity is None else mu * velocity + (1 - tau) * g
        return theta - lr * velocity

    actual = trajectory(make_param, optim.SGD, lr=lr, momentum=mu, dampening=tau)
    np.testing.assert_allclose(actual, replay(update), rtol=1e-14)


def test_adagrad(make_param):
    lr, eps = 0.5, 1e-10
    total = np.zeros_like(THETA0)

    def update(theta, g, t):
        nonlocal total
        total = total + g * g
        return theta - lr * g / (np.sqrt(total) + eps)

    np.testing.assert_allclose(trajectory(make_param, optim.Adagrad, lr=lr), replay(update),
                               rtol=1e-14)


def test_rmsprop(make_param):
    lr, gamma, eps = 0.01, 0.9, 1e-8
    square = np.zeros_like(THETA0)

    def update(theta, g, t):
        nonlocal square
        square = gamma * square + (1 - gamma) * g * g
        return theta - lr * g / (np.sqrt(square) + eps)

    actual = trajectory(make_param, optim.RMSprop, lr=lr, alpha=gamma)
    np.testing.assert_allclose(actual, replay(update), rtol=1e-14)


def test_adadelta(make_param):
    rho, eps = 0.9, 1e-6
    square, delta_square = np.zeros_like(THETA0), np.zeros_like(THETA0)

    def update(theta, g, t):
        nonlocal square, delta_square
        square = rho * square + (1 - rho) * g * g
        delta = np.sqrt(delta_square + eps) / np.sqrt(square + eps) * g
        delta_square = rho * delta_square + (1 - rho) * delta * delta
        return theta - delta

    np.testing.assert_allclose(trajectory(make_param, optim.Adadelta), replay(update), rtol=1e-14)


def adam_update(lr, beta1, beta2, eps, decoupled_decay=0.0):
    """Adam with bias correction; AdamW's decoupled decay θ ← θ − ηλθ first."""
    m, v = np.zeros_like(THETA0), np.zeros_like(THETA0)

    def update(theta, g, t):
        nonlocal m, v
        theta = theta - lr * decoupled_decay * theta
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        return theta - lr * m_hat / (np.sqrt(v_hat) + eps)

    return update


def test_adam(make_param):
    expected = replay(adam_update(0.01, 0.9, 0.999, 1e-8))
    np.testing.assert_allclose(trajectory(make_param, optim.Adam, lr=0.01), expected, rtol=1e-13)


def test_adamw_decays_the_weights_outside_the_adaptive_step(make_param):
    lr, decay = 0.01, 0.5
    expected = replay(adam_update(lr, 0.9, 0.999, 1e-8, decoupled_decay=decay))
    actual = trajectory(make_param, optim.AdamW, lr=lr, weight_decay=decay)
    np.testing.assert_allclose(actual, expected, rtol=1e-13)
    coupled = trajectory(make_param, optim.Adam, lr=lr, weight_decay=decay)
    assert not np.allclose(coupled, actual)


@pytest.mark.parametrize("optimizer_cls", [optim.Adam, optim.AdamW, optim.Adagrad])
def test_first_adaptive_step_moves_every_coordinate_by_lr(make_param, optimizer_cls):
    # m̂/√v̂ = g/|g| (Adam) and g/√(g²) (Adagrad) at t = 1: the step is η·sign(g), whatever |g|.
    first = trajectory(make_param, optimizer_cls, steps=1, lr=0.1, weight_decay=0)[0]
    np.testing.assert_allclose(first, THETA0 - 0.1 * np.sign(THETA0), rtol=1e-6)


def test_defaults_are_pytorchs():
    param = _float32_param()
    assert optim.SGD([param]).defaults == dict(lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                                               nesterov=False, maximize=False)
    assert optim.Adam([param]).defaults == dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                                                weight_decay=0, amsgrad=False, maximize=False)
    assert optim.AdamW([param]).defaults["weight_decay"] == 1e-2
    assert optim.RMSprop([param]).defaults == dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0,
                                                   momentum=0, centered=False, maximize=False)
    assert optim.Adagrad([param]).defaults == dict(lr=1e-2, lr_decay=0, weight_decay=0,
                                                   initial_accumulator_value=0, eps=1e-10,
                                                   maximize=False)
    assert optim.Adadelta([param]).defaults == dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0,
                                                    maximize=False)


def test_sgd_minimises_least_squares(make_param):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3))
    y = x @ np.array([2.0, -1.0, 0.5]) + 0.3 + 0.01 * rng.standard_normal(64)
    w, b = make_param(np.zeros(3)), make_param(np.zeros(()))
    optimizer = optim.SGD([w, b], lr=0.1, momentum=0.5)
    for _ in range(300):
        residual = x @ w.data + b.data - y  # loss = mean(residual²)/2
        w.grad, b.grad = x.T @ residual / len(y), np.array(residual.mean())
        optimizer.step()
    solution, *_ = np.linalg.lstsq(np.c_[x, np.ones(64)], y, rcond=None)
    np.testing.assert_allclose(np.append(w.data, b.data), solution, atol=1e-8)


def _float32_param(shape=(4, 3)):
    from dlcore.nn.parameter import Parameter

    return Parameter(np.random.default_rng(1).standard_normal(shape).astype(np.float32))


FLOAT32_OPTIMIZERS = [
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.5),
    lambda p: optim.Adam(p, amsgrad=True, weight_decay=0.1), lambda p: optim.AdamW(p),
    lambda p: optim.RMSprop(p, momentum=0.9, centered=True),
    lambda p: optim.Adagrad(p, lr_decay=0.1),
    lambda p: optim.Adadelta(p, weight_decay=0.1),
]


@pytest.mark.parametrize("optimizer", FLOAT32_OPTIMIZERS)
def test_float32_parameters_are_updated_in_place_with_float32_state(optimizer):
    param = _float32_param()
    data = param.data
    opt = optimizer([param])
    for _ in range(3):
        param.grad = np.ones_like(data)
        opt.step()
    assert param.data is data and data.dtype == np.float32
    assert all(value.dtype == np.float32
               for value in opt.state[0].values() if isinstance(value, np.ndarray))



@pytest.mark.parametrize("optimizer", FLOAT32_OPTIMIZERS)
def test_float32_steps_agree_with_the_float64_formulas_in_any_memory_layout(optimizer):
    """float32 blends run on the C axpby kernel, a transposed parameter on the reference."""
    rng = np.random.default_rng(0)
    start, grads = rng.standard_normal((5, 3)), rng.standard_normal((4, 5, 3))
    results = []
    for dtype, layout in ((np.float64, "C"), (np.float32, "C"), (np.float32, "F")):
        param = _float32_param()
        param.data = np.array(start, dtype=dtype, order=layout)
        opt = optimizer([param])
        for grad in grads:
            param.grad = np.array(grad, dtype=dtype, order=layout)
            opt.step()
        results.append(param.data)
    np.testing.assert_allclose(results[1], results[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(results[2], results[0], rtol=1e-5, atol=1e-6)

def test_parameters_without_grad_are_skipped(make_param):
    moving, frozen = make_param([1.0, 1.0]), make_param([1.0, 1.0])
    optimizer = optim.Adam([moving, frozen], lr=0.1)
    moving.grad = np.ones(2)
    optimizer.step()
    assert np.all(moving.data < 1.0) and np.all(frozen.data == 1.0)
    assert list(optimizer.state) == [0]


def test_maximize_ascends(make_param):
    descent = trajectory(make_param, optim.SGD, lr=0.1, momentum=0.9)
    ascent = trajectory(make_param, optim.SGD, lr=0.1, momentum=0.9, maximize=True)
    assert np.all(np.abs(ascent[-1]) > np.abs(THETA0))
    assert np.all(np.abs(descent[0]) < np.abs(THETA0))


def test_step_returns_the_closures_loss(make_param):
    param = make_param([3.0])
    optimizer = optim.SGD([param], lr=0.5)

    def closure():
        param.grad = 2 * param.data
        return float(param.data[0] ** 2)

    assert optimizer.step(closure) == 9.0
    np.testing.assert_allclose(param.data, [0.0])


def test_param_groups_have_their_own_options(make_param):
    a, b, c = make_param([1.0]), make_param([1.0]), make_param([1.0])
    optimizer = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.0)
    optimizer.add_param_group({"params": [c], "weight_decay": 1.0})
    assert [g["lr"] for g in optimizer.param_groups] == [0.1, 0.5, 0.1]
    assert optimizer.param_groups[2]["weight_decay"] == 1.0
    assert optimizer.param_groups[0]["weight_decay"] == 0
    for p in (a, b, c):
        p.grad = np.ones(1)
    optimizer.step()
    np.testing.assert_allclose([a.data[0], b.data[0], c.data[0]], [0.9, 0.5, 0.8])


def test_zero_grad(make_param):
    a, b = make_param([1.0, 2.0]), make_param([3.0])
    optimizer = optim.SGD([a, b])
    a.grad = np.ones(2)
    grad = a.grad
    optimizer.zero_grad(set_to_none=False)
    assert a.grad is grad and np.all(grad == 0) and b.grad is None
    optimizer.zero_grad()
    assert a.grad is None


@pytest.mark.parametrize("make_optimizer, message", [
    (lambda p: optim.SGD(p, lr=-0.1), r"SGD: lr must be in \[0, inf\], got -0.1"),
    (lambda p: optim.SGD(p, momentum=-1), "momentum"),
    (lambda p: optim.SGD(p, nesterov=True), "nesterov=True needs momentum > 0"),
    (lambda p: optim.SGD(p, momentum=0.9, dampening=0.1, nesterov=True), "dampening = 0"),
    (lambda p: optim.Adam(p, betas=(0.9, 1.0)), r"Adam: betas\[1\] must be in \[0, 1\)"),
    (lambda p: optim.Adam(p, betas=(0.9,)), "betas must be a pair"),
    (lambda p: optim.AdamW(p, eps=-1e-8), "eps"),
    (lambda p: optim.RMSprop(p, alpha=1.5), "alpha"),
    (lambda p: optim.Adagrad(p, lr_decay=-1), "lr_decay"),
    (lambda p: optim.Adagrad(p, initial_accumulator_value=-1), "initial_accumulator_value"),
    (lambda p: optim.Adadelta(p, rho=2.0), "rho"),
    (lambda p: optim.SGD([{"params": p, "lr": -1.0}]), "lr must be"),
])
def test_bad_options_are_rejected_by_name(make_param, make_optimizer, message):
    with pytest.raises(ValueError, match=message):
        make_optimizer([make_param([1.0])])


def test_bad_params_are_rejected(make_param):
    param = make_param([1.0])
    with pytest.raises(TypeError, match="iterable of parameters"):
        optim.SGD(param)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([])
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([param, param])
    with pytest.raises(TypeError, match=r"params\[1\] of group 0 is a ndarray"):
        optim.SGD([param, np.ones(2)])
    with pytest.raises(TypeError, match="lr must be a real number"):
        optim.Adam([param], lr="0.1")
    optimizer = optim.SGD([param])
    with pytest.raises(ValueError, match="more than once"):
        optimizer.add_param_group({"params": [param]})


def test_a_grad_of_the_wrong_shape_is_rejected(make_param):
    param = make_param([1.0, 2.0])
    optimizer = optim.SGD([param])
    param.grad = np.ones(3)
    with pytest.raises(ValueError,
                       match=r"parameter 0 has shape \(2,\) but its grad has shape \(3,\)"):
        optimizer.step()
