"""Tests of sk_embed/losses/registry.py."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import InvalidParameterError

from sk_embed import EmbeddingClassifier, available_losses
from sk_embed.losses import CrossEntropy, Head, LinearHead, Loss, Technique, get_technique, register
from sk_embed.losses._registry import _REGISTRY


def test_foundation_techniques_registered():
    names = available_losses()
    assert names[:2] == ["softmax", "normalized_softmax"]
    assert len(names) == len(set(names))


def test_unknown_loss_names_the_choices():
    with pytest.raises(ValueError, match="unknown loss 'nope'.*softmax"):
        get_technique("nope")


def test_parameters_come_from_constructors():
    assert get_technique("softmax").parameters() == {
        "label_smoothing": 0.0,
        "normalize_weights": False,
    }


def test_build_rejects_unknown_parameter():
    with pytest.raises(ValueError, match="no parameter.*loss__margin.*loss__label_smoothing"):
        get_technique("softmax").build(2, 3, params={"margin": 0.1})


class _DistanceHead(Head):
    """A technique written in a test: scores are negative squared distances to a few
    learned prototypes; shows that a new technique is one small file."""

    def __init__(self, n_components, n_classes, init_scale=0.1):
        super().__init__(n_components, n_classes)
        self.prototypes = torch.nn.Parameter(init_scale * torch.randn(n_classes, n_components))

    def forward(self, z):
        return -(torch.cdist(z, self.prototypes) ** 2)


class _ScaledCE(Loss):
    def __init__(self, temperature=1.0):
        super().__init__()
        self.temperature = temperature

    def forward(self, scores, z, y, head):
        return F.cross_entropy(scores / self.temperature, y)


@pytest.fixture
def custom_technique():
    technique = register(Technique("test_prototypes", _DistanceHead, _ScaledCE))
    yield technique
    del _REGISTRY["test_prototypes"]


@pytest.mark.quality
def test_a_new_technique_is_one_registration(custom_technique, small, seed, record_property):
    X, y = small
    assert "test_prototypes" in available_losses()
    assert custom_technique.parameters() == {"init_scale": 0.1, "temperature": 1.0}
    clf = EmbeddingClassifier(
        "test_prototypes", max_epochs=5, tol=None, random_state=seed, loss__temperature=2.0
    ).fit(X, y)
    assert clf.net_.criterion_.temperature == 2.0
    record_property("accuracy", float(clf.score(X, y)))
    assert clf.score(X, y) > 0.5  # 0.933 to 1.000 (benchmarks/quality_margins.py, 12 runs)
    with pytest.raises(ValueError, match="no parameter.*loss__normalize_weights"):
        EmbeddingClassifier("test_prototypes", loss__normalize_weights=True).fit(X, y)


def test_a_technique_without_sample_weight_says_so_when_given_weights(custom_technique, small):
    X, y = small
    assert not custom_technique.takes_sample_weight
    assert get_technique("softmax").takes_sample_weight
    clf = EmbeddingClassifier("test_prototypes", max_epochs=1, tol=None)
    with pytest.raises(ValueError, match="'test_prototypes' does not weigh samples"):
        clf.fit(X, y, sample_weight=np.ones(len(y)))
    clf.fit(X, y)  # without weights it trains as before


def test_register_refuses_a_taken_name():
    with pytest.raises(ValueError, match="already registered"):
        register(Technique("softmax", LinearHead, CrossEntropy))


@pytest.mark.parametrize("name", available_losses())
def test_every_option_declares_a_constraint_its_default_meets(name):
    technique = get_technique(name)
    assert set(technique.constraints()) == set(technique.parameters())
    technique.check_params(technique.parameters())  # the defaults are valid


@pytest.mark.parametrize(
    "loss, option, value, message",
    [
        ("cosface", "margin", -1, r"'loss__margin' parameter of loss='cosface' must be a float "
                                  r"in the range \[0.0, 2.0\)\. Got -1"),
        ("cosface", "margin", float("nan"), r"loss__margin.*Got nan"),
        ("arcface", "scale", float("inf"), r"loss__scale.*range \(0.0, inf\)\. Got inf"),
        ("arcface", "margin", 4.0, r"loss__margin.*range \[0.0, 3.14"),
        ("contrastive", "margin", -1, r"loss__margin.*range \(0.0, inf\)"),
        ("contrastive", "squared", "yes", r"loss__squared.*instance of 'bool'"),
        ("triplet", "margin", -1, r"loss__margin.*range \[0.0, inf\)"),
        ("triplet", "mining", "hardest", r"loss__mining.*str among"),
        ("center", "center_weight", "big", r"loss__center_weight.*Got 'big'"),
        ("center", "alpha", 2, r"loss__alpha.*range \[0.0, 1.0\]"),
        ("softmax", "label_smoothing", 1.0, r"loss__label_smoothing.*range \[0.0, 1.0\)"),
        ("soc", "mean_speed", 0, r"loss__mean_speed.*range \(0.0, inf\)"),
        ("regression", "radius", float("-inf"), r"loss__radius"),
        ("regression", "temperature", 0, r"loss__temperature"),
        ("sphereface", "lambda_min", -5, r"loss__lambda_min"),
    ],
)  # fmt: skip
def test_option_outside_its_constraints_is_refused_at_fit(small, loss, option, value, message):
    X, y = small
    clf = EmbeddingClassifier(loss, max_epochs=1, tol=None, **{f"loss__{option}": value})
    with pytest.raises(InvalidParameterError, match=message):
        clf.fit(X, y)
    assert not hasattr(clf, "classes_")


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("dropout", 1.0, r"'backbone__dropout' parameter of backbone='mlp' must be a float in "
                         r"the range \[0.0, 1.0\)"),
        ("batch_norm", "yes", r"backbone__batch_norm.*instance of 'bool'"),
        ("hidden_sizes", (64, 0), r"backbone__hidden_sizes must be a sequence of positive"),
        ("hidden_sizes", (64.5,), r"backbone__hidden_sizes must be a sequence of positive"),
    ],
)  # fmt: skip
def test_backbone_option_outside_its_constraints_is_refused(small, option, value, message):
    X, y = small
    clf = EmbeddingClassifier(max_epochs=1, tol=None, **{f"backbone__{option}": value})
    with pytest.raises(InvalidParameterError, match=message):
        clf.fit(X, y)
