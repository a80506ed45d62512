import os

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


@pytest.fixture(scope="session")
def digits():
    X, y = load_digits(return_X_y=True)
    return X, y


@pytest.fixture(scope="session")
def digits_split(digits):
    """The protocol's split: 70/30, stratified, seed 0."""
    X, y = digits
    return train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)


@pytest.fixture(scope="session")
def small(digits):
    """A small, quick problem: 300 digits of classes 0-4."""
    X, y = digits
    mask = y < 5
    return X[mask][:300], y[mask][:300]


@pytest.fixture(scope="session")
def seed():
    """The training seed of the tests marked ``quality``: 0, or ``SK_EMBED_TEST_SEED``.

    ``benchmarks/quality_margins.py`` runs those tests over several seeds, both torch
    kernel sets and one and two threads, and reads what each records with
    ``record_property``: the margins asserted there come from that spread.
    """
    return int(os.environ.get("SK_EMBED_TEST_SEED", "0"))


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def pytest_configure(config):
    # Under pytest-xdist each worker is one process: give each one torch thread, so
    # two workers on two cores do not oversubscribe them (OpenMP threads spin-wait).
    import torch

    if os.environ.get("PYTEST_XDIST_WORKER"):
        torch.set_num_threads(1)
