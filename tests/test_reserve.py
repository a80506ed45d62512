"""Tests of sk_embed/_reserve.py: reserve_classes and reconstruction."""

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from sk_embed import EmbeddingClassifier, available_losses
from sk_embed._nn.reserve import mix_batch
from sk_embed.losses import get_technique

QUICK = dict(max_epochs=2, tol=None, random_state=0)


def test_mixes_are_between_two_classes_and_labelled_by_their_pair():
    torch.manual_seed(0)
    n_known, n_virtual = 4, 100  # more virtual classes than pairs: one class per pair
    y = torch.arange(40) % n_known
    X = torch.nn.functional.one_hot(y, n_known).float()  # a sample shows its class
    Xm, ym = mix_batch(X, y, n_known, n_virtual)
    assert torch.equal(Xm[:40], X) and torch.equal(ym[:40], y)  # the batch comes first
    mixed, labels = Xm[40:], ym[40:]
    assert 0 < len(mixed) <= 20
    ranks = {(0, 1): 0, (0, 2): 1, (0, 3): 2, (1, 2): 3, (1, 3): 4, (2, 3): 5}
    for x, label in zip(mixed, labels):
        a, b = torch.nonzero(x).flatten().tolist()  # two classes, in proportions 0.3-0.7
        assert 0.3 <= x[a] <= 0.7 and abs(x.sum() - 1) < 1e-6
        assert label == n_known + ranks[(a, b)]
    _, folded = mix_batch(X, y, n_known, 2)
    assert set(folded[40:].tolist()) <= {4, 5}  # pairs dealt round 2 virtual classes


class _Seen(Callback):
    """Records what training saw: head size, largest label, decoder."""

    def initialize(self):
        self.seen = []
        return self

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if training:
            module = net.module_
            self.seen.append((module.head.n_classes, int(batch[1].max()), module.decoder))


@pytest.mark.quality
@pytest.mark.parametrize("loss", available_losses())
def test_every_technique_trains_with_reserved_classes_and_drops_them(
    small, loss, seed, record_property
):
    X, y = small  # classes 0-4
    seen = _Seen()
    quick = dict(QUICK, random_state=seed)
    clf = EmbeddingClassifier(
        loss, n_components=4, reserve_classes=3, reconstruction=1.0, callbacks=[seen], **quick
    )
    clf.fit(X, y)
    head_sizes, largest_labels, decoders = zip(*seen.seen)
    assert set(head_sizes) == {8} and max(largest_labels) >= 5  # virtual classes 5..7 used
    assert all(d is not None for d in decoders)
    assert clf.net_.module_.head.n_classes == 5 and clf.net_.module_.decoder is None
    plain = EmbeddingClassifier(loss, n_components=4, **quick).fit(X, y)
    shapes = {k: v.shape for k, v in clf.net_.module_.state_dict().items()}
    assert shapes == {k: v.shape for k, v in plain.net_.module_.state_dict().items()}
    record_property("accuracy", float(clf.score(X, y)))
    # 0.620 (arcface) to 1.000 (benchmarks/quality_margins.py, 12 runs)
    assert clf.decision_function(X).shape == (len(X), 5) and clf.score(X, y) > 0.3


@pytest.mark.parametrize("loss", available_losses())
def test_keep_classes_cuts_every_class_row(loss):
    head = get_technique(loss).build_head(3, 7)
    head.keep_classes(4)
    assert head.n_classes == 4 and head.centers.shape == (4, 3)
    assert head(torch.randn(5, 3)).shape == (5, 4)


def test_options_apply_to_a_fresh_fit_only(small, tmp_path):
    X, y = small
    seen = _Seen()
    clf = EmbeddingClassifier(
        reserve_classes=4, reconstruction=1.0, warm_start=True, callbacks=[seen], **QUICK
    ).fit(X, y)
    seen.seen.clear()
    clf.fit(X, y)  # goes on from the fitted model: no virtual classes, no decoder
    assert {(s[0], s[2]) for s in seen.seen} == {(5, None)}
    assert clf.n_iter_ == 4
    clf.set_params(callbacks=None).save(tmp_path / "m")  # a callback object is no JSON
    loaded = EmbeddingClassifier.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_reconstruction_adds_to_the_training_loss(small):
    X, y = small
    plain = EmbeddingClassifier(**QUICK).fit(X, y)
    with_decoder = EmbeddingClassifier(reconstruction=5.0, **QUICK).fit(X, y)
    assert with_decoder.loss_curve_[0] > plain.loss_curve_[0] + 1.0
