"""skorch's callbacks passed to the estimator (``callbacks=[...]``) work with its training
loop: a user's schedule, checkpoints, early stopping, progress bars, gradient clipping,
freezing and logging."""

import warnings

import numpy as np
import pytest
import torch
from skorch.callbacks import (
    Callback,
    Checkpoint,
    EarlyStopping,
    Freezer,
    GradientNormClipping,
    LRScheduler,
    ProgressBar,
)

from sk_embed import EmbeddingClassifier


@pytest.fixture(scope="module")
def rows():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X[:300], y[:300]


def _clf(callbacks, **params):
    params = {"n_components": 4, "max_epochs": 6, "random_state": 0, **params}
    return EmbeddingClassifier("softmax", callbacks=callbacks, **params)


class EpochLog(Callback):
    """A logger: what each epoch's history row says."""

    def initialize(self):
        self.rows = []
        return self

    def on_epoch_end(self, net, **kwargs):
        self.rows.append((net.history[-1, "epoch"], net.history[-1, "train_loss"]))


def test_a_user_schedule_sets_the_rate_and_ours_steps_aside(rows):
    X, y = rows
    scheduler = LRScheduler(policy=torch.optim.lr_scheduler.StepLR, step_size=2, gamma=0.5)
    clf = _clf([scheduler], lr=0.01, tol=None).fit(X, y)
    rates = clf.history_[:, "lr"]
    # StepLR halves every second epoch; our anneal would have held or dropped by 10x
    assert rates == pytest.approx([0.01, 0.01, 0.005, 0.005, 0.0025, 0.0025])


def test_a_user_schedule_goes_on_with_warm_start(rows):
    X, y = rows
    scheduler = LRScheduler(policy=torch.optim.lr_scheduler.ExponentialLR, gamma=0.5)
    clf = _clf([scheduler], lr=0.01, tol=None, max_epochs=2).fit(X, y)
    clf.set_params(warm_start=True).fit(X, y)
    assert clf.n_iter_ == 4
    assert clf.history_[-1, "lr"] < 0.01


def test_early_stopping_ends_training_as_a_stop_not_an_interrupt(rows):
    X, y = rows
    stopper = EarlyStopping(monitor="train_loss", patience=1, threshold=10.0)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        clf = _clf([stopper], max_epochs=50).fit(X, y)  # no KeyboardInterrupt
    assert clf.n_iter_ == 2  # the first epoch sets the best, the second misses by 10
    assert not record  # neither "interrupted" nor "not converged"
    assert clf.score(X, y) > 0.3


def test_checkpoint_writes_the_trained_module(rows, tmp_path):
    X, y = rows
    checkpoint = Checkpoint(monitor="train_loss_best", dirname=str(tmp_path))
    clf = _clf([checkpoint]).fit(X, y)
    state = torch.load(tmp_path / "params.pt", weights_only=True)
    assert state.keys() == clf.net_.module_.state_dict().keys()


def test_a_progress_bar_and_a_logger_see_every_epoch(rows, capsys):
    X, y = rows
    log = EpochLog()
    clf = _clf([ProgressBar(), ("log", log)], tol=None, max_epochs=3).fit(X, y)
    assert [epoch for epoch, _ in log.rows] == [1, 2, 3]
    assert [loss for _, loss in log.rows] == pytest.approx(clf.loss_curve_)


def test_gradient_clipping_bounds_each_step(rows):
    X, y = rows
    norms = []

    class Norm(Callback):
        def on_grad_computed(self, net, named_parameters, **kwargs):
            grads = [p.grad for _, p in named_parameters if p.grad is not None]
            norms.append(float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))))

    clf = _clf([GradientNormClipping(gradient_clip_value=1e-3), Norm()], max_epochs=1)
    clf.fit(X, y)
    assert norms and max(norms) <= 1e-3 * 1.01


def test_a_freezer_holds_the_parameters_it_names(rows):
    X, y = rows
    clf = _clf([Freezer("encoder.*")], max_epochs=2, tol=None).fit(X[:200], y[:200])
    built = _clf([], max_epochs=0, tol=None).fit(X[:200], y[:200])  # its initial weights
    for (name, trained), (_, initial) in zip(
        clf.net_.module_.encoder.state_dict().items(),
        built.net_.module_.encoder.state_dict().items(),
    ):
        assert torch.equal(trained, initial), name
    assert not np.allclose(clf.predict_proba(X), built.predict_proba(X))  # the head trained
