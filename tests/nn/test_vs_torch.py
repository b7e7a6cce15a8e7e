"""Same weights, same inputs: outputs, gradients and running statistics match PyTorch."""
import numpy as np
import pytest

import dlcore
from dlcore import nn

torch = pytest.importorskip("torch")
tnn = torch.nn


def build(lib):
    """The same small CNN in either library (identical names, so state_dicts swap)."""
    return lib.Sequential(
        lib.Conv2d(3, 8, 3, padding=1), lib.BatchNorm2d(8), lib.ReLU(), lib.MaxPool2d(2),
        lib.Conv2d(8, 8, 3, padding="same", groups=2, bias=False), lib.PReLU(8),
        lib.AvgPool2d(2), lib.AdaptiveAvgPool2d(1), lib.Flatten(), lib.Linear(8, 16),
        lib.BatchNorm1d(16), lib.GELU(), lib.LayerNorm(16), lib.Linear(16, 5))


def to_torch(state):
    return {key: torch.from_numpy(value.copy()) for key, value in state.items()}


def test_state_dict_keys_and_shapes_match_pytorch():
    ours, theirs = build(nn), build(tnn)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    theirs.load_state_dict(to_torch(ours.state_dict()))


@pytest.mark.parametrize("training", [True, False])
def test_outputs_and_gradients_match(training):
    dlcore.manual_seed(0)
    ours, theirs = build(nn).train(training), build(tnn).train(training)
    if not training:  # give the running statistics something to say
        for _ in range(2):
            ours.train()(dlcore.randn(4, 3, 8, 8))
        ours.train(False)
    theirs.load_state_dict(to_torch(ours.state_dict()))
    x = np.random.default_rng(1).standard_normal((4, 3, 8, 8)).astype(np.float32)
    target = np.array([0, 3, 1, 4])

    x_ours = dlcore.tensor(x, requires_grad=True)
    loss_ours = nn.CrossEntropyLoss()(ours(x_ours), dlcore.tensor(target))
    loss_ours.backward()
    x_theirs = torch.tensor(x, requires_grad=True)
    loss_theirs = tnn.CrossEntropyLoss()(theirs(x_theirs), torch.tensor(target))
    loss_theirs.backward()

    assert loss_ours.item() == pytest.approx(loss_theirs.item(), rel=1e-5)
    np.testing.assert_allclose(x_ours.grad, x_theirs.grad.numpy(), rtol=1e-4, atol=1e-6)
    their_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, their_params[name].grad.numpy(), rtol=1e-3,
                                   atol=1e-4, err_msg=name)  # float32 noise through BN backward
    their_state = theirs.state_dict()
    for name, value in ours.state_dict().items():  # running stats updated the same way
        np.testing.assert_allclose(value, their_state[name].numpy(), rtol=1e-5, atol=1e-7,
                                   err_msg=name)


def test_embedding_and_losses_match():
    emb = nn.Embedding(10, 4, padding_idx=0)
    their_emb = tnn.Embedding(10, 4, padding_idx=0)
    their_emb.load_state_dict(to_torch(emb.state_dict()))
    ids = np.array([[0, 3, 9], [3, 3, 1]])
    np.testing.assert_allclose(emb(dlcore.tensor(ids)).data,
                               their_emb(torch.tensor(ids)).detach().numpy())

    rng = np.random.default_rng(2)
    a, b = rng.random((3, 4), dtype=np.float32), rng.random((3, 4), dtype=np.float32)
    pairs = [(nn.MSELoss(), tnn.MSELoss()),
             (nn.L1Loss(reduction="sum"), tnn.L1Loss(reduction="sum")),
             (nn.BCELoss(), tnn.BCELoss()), (nn.BCEWithLogitsLoss(), tnn.BCEWithLogitsLoss()),
             (nn.KLDivLoss(reduction="batchmean"), tnn.KLDivLoss(reduction="batchmean"))]
    for ours, theirs in pairs:
        assert ours(dlcore.tensor(a), dlcore.tensor(b)).item() == pytest.approx(
            theirs(torch.tensor(a), torch.tensor(b)).item(), rel=1e-5), type(ours).__name__
