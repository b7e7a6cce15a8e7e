"""Datasets, batching and augmentation. Batches are NumPy arrays; the trainer wraps them.

Nothing is downloaded at import or when a dataset is built: missing files raise
:class:`DatasetNotFoundError`, and :func:`fetch_dataset` (``dl data fetch NAME``) gets them.
"""
from .bible import aligned_pairs, kjv_language_model, kjv_rv1909_translation
from .dataset import ArrayDataset, Dataset, Subset, split_validation
from .download import ChecksumError, FetchError, fetch
from .idx import parse_idx, read_idx
from .images import MNIST, FashionMNIST
from .loader import DataLoader
from .registry import DATASETS, dataset_entry, fetch_dataset, get_dataset
from .storage import DamagedDataError, DatasetNotFoundError, Resource, data_dir
from .sword import osis_to_text, read_ztext
from .synthetic import gaussian_2d, linear_regression, noisy_sine, two_spirals
from .text import LanguageModelDataset, TranslationDataset, Vocab, chars, words
from .transforms import Compose, Normalize, RandomCrop, RandomHorizontalFlip, Resize

__all__ = [
    "ArrayDataset", "ChecksumError", "Compose", "DATASETS", "DataLoader", "Dataset",
    "DamagedDataError", "DatasetNotFoundError", "FashionMNIST", "FetchError",
    "LanguageModelDataset", "MNIST", "Normalize", "RandomCrop", "RandomHorizontalFlip", "Resize",
    "Resource", "Subset", "TranslationDataset", "Vocab",
    "aligned_pairs", "chars", "data_dir", "dataset_entry", "fetch", "fetch_dataset",
    "gaussian_2d", "get_dataset", "kjv_language_model", "kjv_rv1909_translation",
    "linear_regression", "noisy_sine", "osis_to_text", "parse_idx", "read_idx", "read_ztext",
    "split_validation", "two_spirals", "words",
]
