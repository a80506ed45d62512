"""Random sequences of calls on one fitted model, with injected failures, checked after
every step (hypothesis's stateful testing).

The suite runs a short profile; ``make lifecycle`` runs a longer one
(``SK_EMBED_LIFECYCLE_EXAMPLES``, ``SK_EMBED_LIFECYCLE_STEPS``).
"""

import os
import tempfile
import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sklearn.datasets import load_digits
from skorch.callbacks import Callback

from sk_embed import EmbeddingClassifier

X_ALL, Y_ALL = load_digits(return_X_y=True)
X_ALL, Y_ALL = X_ALL[:240], Y_ALL[:240]
KNOWN = Y_ALL < 8
EXAMPLES = int(os.environ.get("SK_EMBED_LIFECYCLE_EXAMPLES", "2"))
STEPS = int(os.environ.get("SK_EMBED_LIFECYCLE_STEPS", "5"))


def snapshot(model):
    net = model.net_
    return (
        {k: v.clone() for k, v in net.module_.state_dict().items()},
        {
            (i, k): v.clone()
            for i, s in net.optimizer_.state_dict()["state"].items()
            for k, v in s.items()
            if torch.is_tensor(v)
        },
        repr(net.history_.to_list()),
        model.classes_.tolist(),
        model.predict(X_ALL).tolist(),
    )


def same(a, b):
    if a[2:] != b[2:] or a[0].keys() != b[0].keys() or a[1].keys() != b[1].keys():
        return False
    return all(torch.equal(a[0][k], b[0][k]) for k in a[0]) and all(
        torch.equal(a[1][k], b[1][k]) for k in a[1]
    )


def trainable(model):
    return {
        n: p.detach().clone() for n, p in model.net_.module_.named_parameters() if p.requires_grad
    }


class Raise(Callback):
    """Raise ``error`` at the second training batch."""

    def __init__(self, error):
        self.error = error

    def on_train_begin(self, net, **kwargs):
        self.seen = 0

    def on_batch_end(self, net, training=False, **kwargs):
        self.seen += training
        if self.seen == 2:
            raise self.error


def failing_augment(batch):
    raise RuntimeError("injected augment failure")


class Lifecycle(RuleBasedStateMachine):
    loss = "softmax"

    @initialize()
    def fit(self):
        self.model = EmbeddingClassifier(
            self.loss, n_components=3, max_epochs=2, tol=None, random_state=0
        ).fit(X_ALL[KNOWN], Y_ALL[KNOWN])
        self.added = False

    def data(self):
        return (X_ALL, Y_ALL) if self.added else (X_ALL[KNOWN], Y_ALL[KNOWN])

    def trains_every_parameter(self, call):
        before = {n: p.detach().clone() for n, p in self.model.net_.module_.named_parameters()}
        call()
        after = trainable(self.model)  # a frozen backbone is not trained (freeze_backbone)
        assert after.keys() <= before.keys()
        still = [n for n in after if torch.equal(before[n], after[n])]
        assert not still, f"{call}: not trained: {still}"

    @rule()
    def partial_fit(self):
        self.trains_every_parameter(lambda: self.model.partial_fit(*self.data()))

    @rule(epochs=st.integers(1, 2))
    def warm_start(self, epochs):
        self.model.set_params(warm_start=True, max_epochs=epochs)
        n_iter = self.model.n_iter_
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.trains_every_parameter(lambda: self.model.fit(*self.data()))
        assert self.model.n_iter_ == n_iter + epochs

    @precondition(lambda self: not self.added)
    @rule(on_damage=st.sampled_from(["limit", "ignore"]))
    def add_classes(self, on_damage):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model.add_classes(X_ALL[~KNOWN][:12], Y_ALL[~KNOWN][:12], on_damage=on_damage)
        self.added = True

    @rule()
    def save_then_load(self):
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "m.skembed")
            self.model.set_params(callbacks=None, augment=None)  # objects are not stored
            self.model.save(path)
            loaded = EmbeddingClassifier.load(path)
        for method in ("predict", "transform", "predict_proba", "score_samples"):
            np.testing.assert_array_equal(
                getattr(loaded, method)(X_ALL), getattr(self.model, method)(X_ALL)
            )
        self.model = loaded

    @rule(
        lr=st.sampled_from([None, 1e-3, 3e-3]),
        batch_size=st.sampled_from([32, 64]),
        freeze_backbone=st.sampled_from([False, True, 100]),
        backbone_lr=st.sampled_from([1.0, 0.1]),
    )
    def set_training_params(self, lr, batch_size, freeze_backbone, backbone_lr):
        self.model.set_params(
            lr=lr, batch_size=batch_size, freeze_backbone=freeze_backbone, backbone_lr=backbone_lr
        )

    @rule(
        failure=st.sampled_from(
            ["lr", "callback", "augment", "interrupt-add", "structural", "unknown-label"]
        )
    )
    def failing_call(self, failure):
        before, params = snapshot(self.model), self.model.get_params()
        X, y = self.data()
        with pytest.raises((FloatingPointError, RuntimeError, ValueError, KeyboardInterrupt)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if failure == "lr":
                    self.model.set_params(lr=1e7, optimizer="sgd").partial_fit(X, y)
                elif failure == "callback":
                    self.model.set_params(callbacks=[Raise(RuntimeError("injected"))])
                    self.model.partial_fit(X, y)
                elif failure == "augment":
                    self.model.set_params(augment=failing_augment).partial_fit(X, y)
                elif failure == "interrupt-add":
                    head = type(self.model.net_.module_.head)
                    original = head.add_classes

                    def interrupted(*args, **kwargs):
                        raise KeyboardInterrupt

                    head.add_classes = interrupted
                    try:
                        self.model.add_classes(X_ALL[:4], np.array([20, 20, 21, 21]))
                    finally:
                        head.add_classes = original
                elif failure == "structural":
                    self.model.set_params(n_components=2).partial_fit(X, y)
                else:
                    self.model.partial_fit(X, np.full(len(y), 99))
        self.model.set_params(**params)
        assert same(before, snapshot(self.model)), f"{failure} changed the model"

    @rule()
    def interrupt_mid_epoch(self):
        n_iter = self.model.n_iter_
        self.model.set_params(warm_start=True, max_epochs=3)
        self.model.set_params(callbacks=[Raise(KeyboardInterrupt())])
        with pytest.raises(KeyboardInterrupt), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model.fit(*self.data())
        self.model.set_params(callbacks=None)
        assert self.model.n_iter_ == n_iter  # interrupted in its first epoch: none kept
        assert len(self.model.history_) == n_iter

    @invariant()
    def consistent(self):
        model = self.model
        width = model.transform(X_ALL[:5]).shape[1]
        assert width == model.net_.n_components == len(model.get_feature_names_out())
        assert set(model.predict(X_ALL)) <= set(model.classes_.tolist())
        assert model.predict_proba(X_ALL[:5]).shape == (5, len(model.classes_))


PROFILE = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


def _machine(loss):
    return type(f"Lifecycle_{loss}", (Lifecycle,), {"loss": loss})


# a technique of each family: a linear head, an angular head, centers, pairs, soc
TestSoftmax = _machine("softmax").TestCase
TestCosface = _machine("cosface").TestCase
TestCenter = _machine("center").TestCase
TestTriplet = _machine("triplet").TestCase
TestSoc = _machine("soc").TestCase
for case in (TestSoftmax, TestCosface, TestCenter, TestTriplet, TestSoc):
    case.settings = PROFILE
