"""DataLoader: batching, drop_last, seeded shuffles, exact mid-epoch resume."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcore.data import ArrayDataset, DataLoader, Dataset, RandomCrop, RandomHorizontalFlip


def numbered(n):
    """Dataset whose input i is a 1x4x4 image filled with i, label i."""
    images = np.repeat(np.arange(n, dtype=np.float32), 16).reshape(n, 1, 4, 4)
    return ArrayDataset(images, np.arange(n, dtype=np.int64))


def labels_of(loader):
    return [labels.tolist() for _, labels in loader]


def test_batches_in_order_with_a_partial_last_batch():
    loader = DataLoader(numbered(10), batch_size=4)
    assert len(loader) == 3
    assert labels_of(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_drop_last_leaves_out_the_partial_batch():
    loader = DataLoader(numbered(10), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [len(b) for b in labels_of(loader)] == [4, 4]


def test_drop_last_refuses_a_dataset_smaller_than_a_batch():
    with pytest.raises(ValueError, match="batch_size=8 would yield nothing"):
        DataLoader(numbered(5), batch_size=8, drop_last=True)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True])
def test_bad_batch_size_is_refused(batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(numbered(5), batch_size=batch_size)


def test_batches_keep_dtypes_and_shapes():
    images, labels = next(iter(DataLoader(numbered(10), batch_size=3)))
    assert images.shape == (3, 1, 4, 4) and images.dtype == np.float32
    assert labels.shape == (3,) and labels.dtype == np.int64


def test_same_seed_same_shuffle_each_epoch_a_new_one():
    first, second = (DataLoader(numbered(50), 8, shuffle=True, seed=3) for _ in range(2))
    epochs = [labels_of(first) for _ in range(2)]
    assert epochs == [labels_of(second) for _ in range(2)]
    assert epochs[0] != epochs[1]
    assert sorted(sum(epochs[0], [])) == list(range(50))
    assert labels_of(DataLoader(numbered(50), 8, shuffle=True, seed=4)) != epochs[0]


def test_every_iter_is_a_whole_new_epoch_even_after_an_abandoned_one():
    """PyTorch's habit: `for x, y in loader` after a `break` starts over (a new shuffle);
    only the first pass after load_state_dict continues the saved epoch."""
    loader, reference = (DataLoader(numbered(20), 4, shuffle=True, seed=5) for _ in range(2))
    epochs = [labels_of(reference) for _ in range(3)]
    for _ in iter(loader):
        break                                               # epoch 0 abandoned after a batch
    assert labels_of(loader) == epochs[1] and len(epochs[1]) == 5
    batches = iter(loader)
    next(batches)
    state = loader.state_dict()
    resumed = DataLoader(numbered(20), 4, shuffle=True, seed=5)
    resumed.load_state_dict(state)
    assert labels_of(resumed) == epochs[2][1:]


def test_unseeded_loader_takes_its_seed_from_the_global_generator():
    from dlcore import random as dl_random
    dl_random.manual_seed(7)
    first = DataLoader(numbered(20), 4, shuffle=True).seed
    dl_random.manual_seed(7)
    assert DataLoader(numbered(20), 4, shuffle=True).seed == first


def augmenting_loader(seed=11):
    transform = lambda x, rng: RandomHorizontalFlip()(RandomCrop(4, padding=1)(x, rng), rng)
    images = np.random.default_rng(0).random((30, 1, 4, 4)).astype(np.float32)
    return DataLoader(ArrayDataset(images, np.arange(30)), 4, shuffle=True, seed=seed,
                      transform=transform)


@settings(max_examples=25, deadline=None)
@given(stop=st.integers(0, 7), epoch=st.integers(0, 2))  # 8 batches per epoch
def test_resume_from_state_yields_exactly_the_remaining_batches(stop, epoch):
    reference = augmenting_loader()
    for _ in range(epoch):
        list(reference)
    expected = list(reference)
    interrupted = augmenting_loader()
    for _ in range(epoch):
        list(interrupted)
    batches = iter(interrupted)
    for _ in range(stop):
        next(batches)
    state = interrupted.state_dict()
    assert state == {"epoch": epoch, "position": stop, "seed": 11}
    resumed = augmenting_loader(seed=999)
    resumed.load_state_dict(state)
    rest = list(resumed)
    assert len(rest) == len(expected) - stop
    for (x, y), (x_ref, y_ref) in zip(rest, expected[stop:]):
        np.testing.assert_array_equal(y, y_ref)
        np.testing.assert_array_equal(x, x_ref)
    assert resumed.state_dict() == {"epoch": epoch + 1, "position": 0, "seed": 11}


def test_state_saved_after_the_last_batch_resumes_at_the_next_epoch():
    loader = DataLoader(numbered(8), 4, shuffle=True, seed=0)
    batches = iter(loader)
    next(batches), next(batches)
    state = loader.state_dict()
    assert state["position"] == len(loader)
    uninterrupted = DataLoader(numbered(8), 4, shuffle=True, seed=0)
    list(uninterrupted)
    resumed = DataLoader(numbered(8), 4, shuffle=True)
    resumed.load_state_dict(state)
    assert labels_of(resumed) == labels_of(uninterrupted)


@pytest.mark.parametrize("state", [{"epoch": 0, "position": 0}, {"epoch": 0, "position": -1,
                                   "seed": 0}, {"epoch": 0, "position": 9, "seed": 0}, None])
def test_bad_states_are_refused(state):
    with pytest.raises(ValueError, match="DataLoader"):
        DataLoader(numbered(8), 4).load_state_dict(state)


class CountingDataset(Dataset):
    """Records the index batches it was asked for."""

    def __init__(self):
        self.requests = []

    def __len__(self):
        return 6

    def get_batch(self, indices, rng=None):
        self.requests.append(indices.tolist())
        return (indices.astype(np.float32),)


def test_the_loader_asks_the_dataset_once_per_batch():
    dataset = CountingDataset()
    list(DataLoader(dataset, batch_size=4))
    assert dataset.requests == [[0, 1, 2, 3], [4, 5]]


def test_a_sample_is_a_batch_of_one_without_the_batch_axis():
    image, label = numbered(5)[-1]
    assert image.shape == (1, 4, 4) and label == 4
    with pytest.raises(IndexError, match="index 5 out of range for 5"):
        numbered(5)[5]
    with pytest.raises(TypeError, match="must be an int"):
        numbered(5)[1.0]


def test_array_dataset_arrays_must_share_their_length():
    with pytest.raises(ValueError, match=r"share their first dimension.*\(3, 2\), \(4,\)"):
        ArrayDataset(np.zeros((3, 2)), np.zeros(4))
