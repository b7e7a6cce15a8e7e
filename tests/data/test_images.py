"""Fashion-MNIST / MNIST datasets: tiny generated IDX files, then the real facts (FEATURES §11)."""
import gzip
import struct

import numpy as np
import pytest

from dlcore.data import MNIST, DataLoader, DatasetNotFoundError, FashionMNIST, get_dataset


def write_split(folder, prefix, images, labels):
    """Write <prefix>-images-idx3-ubyte.gz and <prefix>-labels-idx1-ubyte.gz."""
    folder.mkdir(parents=True, exist_ok=True)
    for kind, array, ndim in (("images", images, 3), ("labels", labels, 1)):
        header = struct.pack(">BBBB", 0, 0, 8, ndim) + struct.pack(f">{ndim}I", *array.shape)
        name = f"{prefix}-{kind}-idx{ndim}-ubyte.gz"
        (folder / name).write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """A 6-train / 2-test MNIST in $DL_DATA_DIR/mnist."""
    monkeypatch.setenv("DL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    rng = np.random.default_rng(0)
    folder = tmp_path / "mnist"
    write_split(folder, "train", rng.integers(0, 256, (6, 28, 28)), np.array([5, 0, 4, 1, 9, 2]))
    write_split(folder, "t10k", rng.integers(0, 256, (2, 28, 28)), np.array([7, 2]))
    return folder


def test_mnist_files_placed_in_the_data_dir_are_found(tiny_mnist):
    train = MNIST("train")
    assert len(train) == 6 and len(MNIST("test")) == 2
    image, label = train[0]
    assert image.shape == (1, 28, 28) and image.dtype == np.float32 and label == 5
    np.testing.assert_allclose(image[0], train.images[0] / 255.0, rtol=1e-6)
    assert 0.0 <= image.min() and image.max() <= 1.0


def test_a_damaged_cached_file_says_how_to_fetch_it_again(tiny_mnist):
    from dlcore.data import DamagedDataError
    labels = tiny_mnist / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(labels.read_bytes()[:10])             # a truncated download
    with pytest.raises(DamagedDataError, match=r"the files of mnist look damaged \(.*"
                       r"t10k-labels-idx1-ubyte.gz: corrupt or truncated gzip.*\); remove "
                       r".*mnist and run `dl data fetch mnist` to fetch it again"):
        MNIST("test")
    assert len(MNIST("train")) == 6                          # the other split still reads


def test_registry_normalises_by_default(tiny_mnist):
    x, _ = get_dataset("mnist", "train").get_batch(np.arange(6))
    raw, _ = get_dataset("mnist", "train", normalize=False).get_batch(np.arange(6))
    np.testing.assert_allclose(x, (raw - MNIST.mean) / MNIST.std, rtol=1e-5, atol=1e-6)


def test_missing_data_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("DL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(DatasetNotFoundError, match="run `dl data fetch mnist`"):
        MNIST("train")


def test_unknown_split_and_bad_labels_are_refused(tiny_mnist):
    with pytest.raises(ValueError, match="split must be one of"):
        MNIST("validation")
    write_split(tiny_mnist, "t10k", np.zeros((2, 28, 28)), np.array([3, 12]))
    with pytest.raises(ValueError, match="label 12 outside 0..9"):
        MNIST("test")


def require_fashion_mnist():
    if FashionMNIST.resource.locate() is None:
        pytest.skip("Fashion-MNIST is not here (dl data fetch fashion-mnist)")


def test_real_fashion_mnist_facts():
    require_fashion_mnist()
    train = FashionMNIST("train")
    assert len(train) == 60000
    assert train.labels[0] == 9 and train.classes[9] == "Ankle boot"
    assert train.classes[0] == "T-shirt/top"
    np.testing.assert_array_equal(np.bincount(train.labels), [6000] * 10)
    features, labels = next(iter(DataLoader(train, batch_size=64)))
    assert features.shape == (64, 1, 28, 28) and features.dtype == np.float32
    assert labels.shape == (64,) and labels.dtype == np.int64
    assert train[0][0].shape == (1, 28, 28)


@pytest.mark.slow
def test_real_fashion_mnist_statistics():
    require_fashion_mnist()
    assert len(FashionMNIST("test")) == 10000
    pixels = FashionMNIST("train").images / 255.0
    assert pixels.mean() == pytest.approx(FashionMNIST.mean, abs=1e-4)
    assert pixels.std() == pytest.approx(FashionMNIST.std, abs=1e-4)


def test_augmentation_options_touch_only_the_train_split_and_never_a_validation_part(
        tiny_mnist):
    from dlcore.data import split_validation
    plain, _ = get_dataset("mnist", "train").get_batch(np.arange(6))
    train = get_dataset("mnist", "train", crop_padding=2, flip=True, resize=32)
    augmented, _ = train.get_batch(np.arange(6), np.random.default_rng(0))
    assert augmented.shape == (6, 1, 32, 32) and train.metadata["input_shape"] == [1, 32, 32]
    test = get_dataset("mnist", "test", crop_padding=2, flip=True, resize=32)
    assert [type(t).__name__ for t in test.transform.transforms] == ["Resize", "Normalize"]
    fitted, held = split_validation(train, 0.5, seed=0)
    assert [type(t).__name__ for t in held.dataset.transform.transforms] == ["Resize",
                                                                             "Normalize"]
    first, _ = held.get_batch(np.arange(3), np.random.default_rng(1))
    again, _ = held.get_batch(np.arange(3), np.random.default_rng(2))
    np.testing.assert_array_equal(first, again)              # nothing random on held-out data
    assert fitted.dataset is train and plain.shape == (6, 1, 28, 28)
    with pytest.raises(ValueError, match="crop_padding must be a positive int, got -1"):
        get_dataset("mnist", "train", crop_padding=-1)
