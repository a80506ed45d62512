"""Tests of sk_embed/backbones.py."""

import copy
import importlib
import re
import sys
import types

import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError, validate_parameter_constraints
from torch import nn

from sk_embed import EmbeddingClassifier
from sk_embed.backbones import (
    BACKBONE_NAMES,
    BACKBONES,
    CNN,
    CUSTOM_LR,
    MLP,
    BasicBlock,
    Dropout,
    ResNet18,
    build_backbone,
    default_lr,
    get_backbone,
    is_backbone_name,
    load_backbone_weights,
)


@pytest.mark.parametrize("shape", [(8, 8), (1, 28, 28), (3, 32, 32), (2, 7, 9)])
def test_cnn_any_image_size(shape):
    net = CNN(shape, 5)
    out = net(torch.zeros(4, *shape))
    assert out.shape == (4, 5)
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 64, 128]
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linears] == [256, 5]


def test_mlp_flattens_images():
    assert MLP(64, 3)(torch.zeros(2, 8, 8)).shape == (2, 3)


def test_mlp_batch_norm_and_dropout_are_optional_layers():
    plain = MLP(10, 2)
    assert not any(isinstance(m, (torch.nn.BatchNorm1d, Dropout)) for m in plain.modules())
    net = MLP(10, 2, hidden_sizes=(8, 4), batch_norm=True, dropout=0.5)
    assert [m.num_features for m in net.modules() if isinstance(m, torch.nn.BatchNorm1d)] == [8, 4]
    assert [m.p for m in net.modules() if isinstance(m, Dropout)] == [0.5, 0.5]
    x = torch.randn(16, 10)
    net.train()
    torch.manual_seed(0)
    a = net(x)
    torch.manual_seed(1)
    assert not torch.equal(a, net(x))  # dropout draws masks in training
    net.eval()
    torch.testing.assert_close(net(x), net(x))


def test_dropout_zeroes_a_share_p_and_keeps_the_mean():
    drop = Dropout(0.5)
    x = torch.ones(200, 500)
    out = drop(x)
    assert set(out.unique().tolist()) == {0.0, 2.0}
    assert abs(float((out == 0).float().mean()) - 0.5) < 0.01
    assert abs(float(out.mean()) - 1.0) < 0.02
    assert torch.equal(drop.eval()(x), x)
    assert torch.equal(Dropout(0.0).train()(x), x)
    with pytest.raises(ValueError, match="dropout must be in"):
        Dropout(1.0)


def test_dropout_draws_from_the_fits_generator_not_torchs():
    from sk_embed._random import FitGenerators, fit_draws

    drop, x = Dropout(0.3), torch.ones(64, 32)
    masks = []
    for _ in range(2):
        torch.manual_seed(123)  # the same default stream each time...
        with fit_draws(FitGenerators(len(masks))):  # ...but another fit's generator
            masks.append(drop(x))
    assert not torch.equal(*masks)
    with fit_draws(FitGenerators(7)):
        a = drop(x)
    with fit_draws(FitGenerators(7)):
        assert torch.equal(a, drop(x))


def test_dropout_in_a_data_parallel_fit_leaves_the_shared_stream_alone():
    """A rank draws its masks from its own stream (layer_draws), not the shared one
    that every rank must advance alike."""
    from sk_embed._random import FitGenerators, fit_draws, generator, layer_draws

    drop, x = Dropout(0.5), torch.ones(64, 32)
    with fit_draws(FitGenerators(0)):
        shared = generator().get_state()
        with layer_draws(FitGenerators(1)):
            own = drop(x)
        assert torch.equal(generator().get_state(), shared)
    with fit_draws(FitGenerators(1)):
        assert torch.equal(drop(x), own)


def test_cnn_dropout_is_a_layer_of_its_own_and_off_in_evaluation():
    """The weights keep the paper encoder's names (saved files hold them); dropout 0.5
    by default, before the projection, training mode only; 0 leaves the paper's encoder."""
    net = CNN((8, 8), 3)
    assert net.dropout.p == 0.5
    assert set(net.state_dict()) == {
        f"{part}.{i}.{kind}"
        for part, layers in (("features", (0, 3, 6)), ("classifier", (1, 3)))
        for i in layers
        for kind in ("weight", "bias")
    }
    x = torch.randn(32, 8, 8)
    net.eval()
    torch.testing.assert_close(net(x), net(x))
    net.train()
    assert not torch.equal(net(x), net(x))
    plain = CNN((8, 8), 3, dropout=0.0).train()
    plain.load_state_dict(net.state_dict())
    torch.testing.assert_close(plain(x), net.eval()(x))
    with pytest.raises(InvalidParameterError, match="backbone__dropout"):
        EmbeddingClassifier(backbone="cnn", backbone__dropout=1.5).fit(
            np.zeros((20, 8, 8)), np.arange(20) % 2
        )


def test_cnn_fits_in_threads_equal_the_lone_fit():
    """The cnn's dropout draws from the fit's generator: no process-wide lock, and two
    fits at once give the lone fit's embedding."""
    from concurrent.futures import ThreadPoolExecutor

    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X, y = X[:150].reshape(-1, 8, 8), y[:150]

    def embedding(_):
        model = EmbeddingClassifier(backbone="cnn", max_epochs=2, tol=None, random_state=0)
        return model.fit(X, y).transform(X)

    alone = embedding(0)
    with ThreadPoolExecutor(2) as pool:
        for out in pool.map(embedding, range(2)):
            np.testing.assert_array_equal(out, alone)


def test_the_default_learning_rate_is_the_backbones_own(digits):
    """``lr=None``: 1e-2 for the mlp, 1e-3 for the cnn and modules of one's own (the
    cnn collapses at 1e-2 on 28x28 images; docs/robustness.md); an explicit lr wins."""
    X, y = digits
    X, y = X[:120], y[:120]
    quick = dict(max_epochs=1, tol=None, lr_schedule="constant", random_state=0)
    mlp = EmbeddingClassifier(**quick).fit(X, y)
    cnn = EmbeddingClassifier(backbone="cnn", **quick).fit(X.reshape(-1, 8, 8), y)
    own = EmbeddingClassifier(backbone=nn.Linear(64, 2), standardize=False, **quick).fit(X, y)
    set_ = EmbeddingClassifier(backbone="cnn", lr=0.05, **quick).fit(X.reshape(-1, 8, 8), y)
    assert mlp.lr is None and cnn.lr is None  # the parameter stays as given
    lrs = [clf.history_[:, "lr"][0] for clf in (mlp, cnn, own, set_)]
    assert lrs == [BACKBONES["mlp"].lr, BACKBONES["cnn"].lr, CUSTOM_LR, 0.05]
    assert lrs[:3] == [1e-2, 1e-3, 1e-3]
    assert BACKBONES["resnet18"].lr == 1e-3


# -- ResNet-18 -------------------------------------------------------------------------


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One torch thread: the machine's cores are shared (as each xdist worker has)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _count(module):
    return sum(p.numel() for p in module.parameters())


def test_resnet18_is_resnet18():
    """The ImageNet layout with 1000 outputs has ResNet-18's well-known 11,689,512
    parameters; the small stem (3x3 conv instead of 7x7) and a projection to 10 give
    11.17 million."""
    assert _count(ResNet18((3, 224, 224), 1000)) == 11_689_512
    net = build_backbone("resnet18", (3, 32, 32), 10, {})
    assert _count(net) == 11_689_512 - 3 * 64 * (49 - 9) - 512 * 990 - 990 == 11_173_962
    blocks = [m for m in net.modules() if isinstance(m, BasicBlock)]
    assert len(blocks) == 8
    assert [b.conv2.out_channels for b in blocks] == [64, 64, 128, 128, 256, 256, 512, 512]
    assert [b.downsample is not None for b in blocks] == [False, False] + [True, False] * 3
    assert net.fc.in_features == 512 and net.fc.out_features == 10
    # the usual ResNet names, so a state dict of that layout maps key for key
    keys = set(net.state_dict())
    assert {"conv1.weight", "bn1.running_var", "layer2.0.downsample.0.weight"} <= keys
    assert {"layer4.1.bn2.bias", "fc.weight", "fc.bias"} <= keys


@pytest.mark.parametrize(
    "side,stem,final",
    [
        (16, "small", 2),
        (32, "small", 4),
        (64, "small", 8),
        (65, "imagenet", 3),
        (96, "imagenet", 3),
    ],  # noqa: E501
)
def test_resnet18_stem_follows_the_image_size(side, stem, final):
    """Up to 64 pixels: a 3x3 stride-1 conv without max pooling (the CIFAR ResNet), so
    32x32 ends at 4x4; above: 7x7 stride 2 and max pooling, so 96x96 ends at 3x3."""
    net = build_backbone("resnet18", (3, side, side), 5, {})
    assert net.stem == stem
    kernel, stride = (3, 1) if stem == "small" else (7, 2)
    assert net.conv1.kernel_size == (kernel, kernel) and net.conv1.stride == (stride, stride)
    assert isinstance(net.maxpool, nn.Identity if stem == "small" else nn.MaxPool2d)
    seen = []
    net.layer4.register_forward_hook(lambda m, i, out: seen.append(out.shape[-2:]))
    assert net(torch.zeros(2, 3, side, side)).shape == (2, 5)
    assert seen == [(final, final)]


def test_resnet18_stem_by_hand_and_on_non_square_images():
    assert build_backbone("resnet18", (3, 32, 32), 2, {"stem": "imagenet"}).stem == "imagenet"
    assert build_backbone("resnet18", (3, 200, 200), 2, {"stem": "small"}).stem == "small"
    assert ResNet18((3, 20, 80), 2).stem == "imagenet"  # the larger side decides
    with pytest.raises(InvalidParameterError, match="backbone__stem"):
        build_backbone("resnet18", (3, 32, 32), 2, {"stem": "cifar"})
    with pytest.raises(ValueError, match="backbone__depth"):
        build_backbone("resnet18", (3, 32, 32), 2, {"depth": 34})


@pytest.mark.parametrize("shape", [(1, 28, 28), (28, 28), (5, 12, 10)])
def test_resnet18_any_channels(shape):
    net = build_backbone("resnet18", shape, 3, {})
    assert net.conv1.in_channels == (1 if len(shape) == 2 else shape[0])
    assert net(torch.randn(4, *shape)).shape == (4, 3)


def test_resnet18_on_flat_rows_with_input_shape_and_refused_without():
    net = build_backbone("resnet18", (2 * 8 * 8,), 2, {"input_shape": (2, 8, 8)})
    assert net(torch.randn(3, 128)).shape == (3, 2)
    with pytest.raises(ValueError, match="needs images"):
        build_backbone("resnet18", (128,), 2, {})


def test_resnet18_trains():
    torch.manual_seed(0)
    net = build_backbone("resnet18", (3, 16, 16), 4, {})
    x, target = torch.randn(8, 3, 16, 16), torch.randn(8, 4)
    loss = nn.functional.mse_loss(net(x), target)
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
    assert net.conv1.weight.grad.abs().sum() > 0


def test_resnet18_estimator_fit():
    """One epoch of the estimator on 40 random 3x16x16 images (batch statistics in
    training, running statistics at predict)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3, 16, 16)).astype(np.float32)
    y = np.arange(40) % 4
    quick = dict(max_epochs=1, tol=None, lr_schedule="constant", batch_size=20, random_state=0)
    clf = EmbeddingClassifier(backbone="resnet18", n_components=3, **quick).fit(X, y)
    assert clf.transform(X[:5]).shape == (5, 3)
    assert clf.predict(X[:5]).shape == (5,)
    assert clf.history_[:, "lr"][0] == BACKBONES["resnet18"].lr == 1e-3


# -- names -------------------------------------------------------------------------------


def test_backbone_names():
    for name in ("mlp", "cnn", "resnet18", "timm:resnet18", "torchvision:vit_b_16"):
        assert is_backbone_name(name) and BACKBONE_NAMES.is_satisfied_by(name)
    for name in ("timm:", "torchvision", "keras:resnet", "resnet34", "", 3, None, nn.Linear):
        assert not is_backbone_name(name) and not BACKBONE_NAMES.is_satisfied_by(name)
    assert default_lr("timm:resnet18") == CUSTOM_LR
    assert get_backbone("torchvision:resnet18").images
    with pytest.raises(ValueError, match="unknown backbone 'resnet34'.*timm"):
        build_backbone("resnet34", (3, 8, 8), 2, {})
    validate_parameter_constraints(
        {"backbone": [BACKBONE_NAMES, nn.Module, type]}, {"backbone": "timm:x"}, "f"
    )
    with pytest.raises(InvalidParameterError, match="'timm:<model>' or 'torchvision:<model>'"):
        validate_parameter_constraints(
            {"backbone": [BACKBONE_NAMES, nn.Module, type]}, {"backbone": "resnet34"}, "f"
        )


@pytest.mark.parametrize("backbone", ["cnn", "resnet18", CNN, "timm:tiny"])
def test_build_backbone_leaves_the_weights_file_to_the_caller(backbone, monkeypatch):
    """``backbone__weights`` reaches no constructor (the net loads it, on a fresh fit)."""
    monkeypatch.setitem(sys.modules, "timm", _fake_timm([]))
    params = {"weights": "never/read.pt"}
    if backbone is CNN:  # a class gets its own arguments
        params.update(input_shape=(1, 8, 8), n_components=2)
    net = build_backbone(backbone, (1, 8, 8), 2, params)
    assert net(torch.zeros(2, 1, 8, 8)).shape == (2, 2)
    assert build_backbone(net, (1, 8, 8), 2, {"weights": "x.pt"}) is not net


# -- timm and torchvision models ------------------------------------------------------------


class _Tiny(nn.Module):
    """A stand-in for a library's model: conv, pool, then a classifier ``fc``."""

    def __init__(self, in_chans=3, num_classes=1000, width=7):
        super().__init__()
        self.conv = nn.Conv2d(in_chans, width, 3)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(width, num_classes) if num_classes else nn.Identity()

    def forward(self, x):
        return self.fc(self.pool(self.conv(x)).flatten(1))


def _fake_timm(calls):
    timm = types.ModuleType("timm")

    def create_model(name, pretrained=False, num_classes=1000, in_chans=3, **options):
        if name != "tiny":
            raise RuntimeError(f"Unknown model ({name})")
        calls.append(dict(pretrained=pretrained, num_classes=num_classes, **options))
        return _Tiny(in_chans, num_classes, **options)

    timm.create_model = create_model
    return timm


def _fake_torchvision(calls):
    torchvision = types.ModuleType("torchvision")

    def get_model_builder(name):
        if name != "tiny":
            raise ValueError(f"Unknown model {name}")

        def build(weights=None, **options):
            calls.append(dict(weights=weights, **options))
            return _Tiny(**options)

        return build

    torchvision.models = types.SimpleNamespace(get_model_builder=get_model_builder)
    return torchvision


def test_timm_model_without_its_classifier_and_a_projection(monkeypatch):
    calls = []
    monkeypatch.setitem(sys.modules, "timm", _fake_timm(calls))
    net = build_backbone("timm:tiny", (2, 9, 9), 4, {"width": 5})
    assert calls == [dict(pretrained=False, num_classes=0, width=5)]
    assert net.model.conv.in_channels == 2  # in_chans: the input's channels
    assert (net.projection.in_features, net.projection.out_features) == (5, 4)
    assert net(torch.randn(3, 2, 9, 9)).shape == (3, 4)
    assert net(torch.randn(3, 162)).shape == (3, 4)  # flat rows of the sample shape
    assert build_backbone("timm:tiny", (9, 9), 4, {}).model.conv.in_channels == 1
    build_backbone("timm:tiny", (3, 9, 9), 4, {"pretrained": True})
    assert calls[-1]["pretrained"] is True  # the library fetches; only when asked
    with pytest.raises(InvalidParameterError, match="backbone__pretrained"):
        build_backbone("timm:tiny", (3, 9, 9), 4, {"pretrained": "yes"})
    with pytest.raises(ValueError, match="timm has no model 'nope'"):
        build_backbone("timm:nope", (3, 9, 9), 4, {})
    with pytest.raises(ValueError, match="needs images"):
        build_backbone("timm:tiny", (81,), 4, {})


def test_torchvision_model_without_its_classifier_and_a_projection(monkeypatch):
    calls = []
    monkeypatch.setitem(sys.modules, "torchvision", _fake_torchvision(calls))
    net = build_backbone("torchvision:tiny", (3, 9, 9), 4, {"width": 6})
    assert calls == [dict(weights=None, width=6)]
    assert isinstance(net.model.fc, nn.Identity)
    assert net.projection.in_features == 6  # found by a dummy forward
    assert net(torch.randn(2, 3, 9, 9)).shape == (2, 4)
    build_backbone("torchvision:tiny", (3, 9, 9), 4, {"pretrained": True})
    assert calls[-1]["weights"] == "DEFAULT"
    with pytest.raises(ValueError, match=r"does not take samples of shape \(1, 9, 9\)"):
        build_backbone("torchvision:tiny", (9, 9), 4, {})
    with pytest.raises(ValueError, match="torchvision has no model 'nope'"):
        build_backbone("torchvision:nope", (3, 9, 9), 4, {})


@pytest.mark.parametrize("library,extra", [("timm", "timm"), ("torchvision", "vision")])
def test_named_model_without_its_library_names_the_extra(library, extra, monkeypatch):
    monkeypatch.setitem(sys.modules, library, None)  # import fails, whether installed or not
    with pytest.raises(ImportError, match=rf"needs {library}: pip install 'sk-embed\[{extra}\]'"):
        build_backbone(f"{library}:resnet18", (3, 32, 32), 2, {})


def _importable(name):
    try:
        importlib.import_module(name)
    except Exception:  # torchvision built for another torch fails with a RuntimeError
        return False
    return True


@pytest.mark.skipif(not _importable("timm"), reason="timm is not installed")
def test_real_timm_resnet18():
    net = build_backbone("timm:resnet18", (1, 32, 32), 3, {})
    assert net(torch.zeros(2, 1, 32, 32)).shape == (2, 3)
    assert net.projection.in_features == 512


@pytest.mark.skipif(not _importable("torchvision"), reason="torchvision does not import")
def test_real_torchvision_resnet18():
    net = build_backbone("torchvision:resnet18", (3, 32, 32), 3, {})
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 3)
    assert net.projection.in_features == 512


# -- weights from a file --------------------------------------------------------------------


def _cnn(seed):
    torch.manual_seed(seed)
    return CNN((1, 8, 8), 3).eval()  # no dropout: outputs compare weights alone


def test_load_weights_round_trip(tmp_path):
    source, target = _cnn(0), _cnn(1)
    path = tmp_path / "cnn.pt"
    torch.save(source.state_dict(), path)
    assert load_backbone_weights(target, path) is target
    x = torch.randn(4, 1, 8, 8)
    torch.testing.assert_close(target(x), source(x), rtol=0, atol=0)
    nested, other = tmp_path / "checkpoint.pt", _cnn(2)
    torch.save({"state_dict": source.state_dict(), "epoch": 3}, nested)
    load_backbone_weights(other, str(nested))
    torch.testing.assert_close(other(x), source(x), rtol=0, atol=0)


def test_load_weights_with_batch_norm(tmp_path):
    """Running statistics come too; a file without BatchNorm's batch counter (written by
    other tools) loads as torch loads it."""
    source = build_backbone("mlp", (6,), 2, {"batch_norm": True, "hidden_sizes": (4,)})
    source.train()
    source(torch.randn(16, 6))
    state = {k: v for k, v in source.state_dict().items() if "num_batches_tracked" not in k}
    torch.save(state, tmp_path / "mlp.pt")
    fresh = build_backbone("mlp", (6,), 2, {"batch_norm": True, "hidden_sizes": (4,)})
    target = load_backbone_weights(fresh, tmp_path / "mlp.pt")
    bn = [m for m in target.modules() if isinstance(m, nn.BatchNorm1d)][0]
    assert torch.equal(bn.running_mean, source.layers[2].running_mean)


def test_load_weights_that_do_not_fit(tmp_path):
    target = _cnn(1)
    before = copy.deepcopy(target.state_dict())
    state = _cnn(0).state_dict()
    del state["features.0.bias"]
    state["extra.weight"] = torch.zeros(2)
    state["classifier.3.weight"] = torch.zeros(5, 256)
    path = tmp_path / "other.pt"
    torch.save(state, path)
    with pytest.raises(ValueError) as info:
        load_backbone_weights(target, path)
    message = str(info.value)
    assert "other.pt" in message
    assert "missing keys (in the backbone, not in the file): features.0.bias" in message
    assert "unexpected keys (in the file, not in the backbone): extra.weight" in message
    assert "classifier.3.weight: file (5, 256), backbone (3, 256)" in message
    for key, value in target.state_dict().items():  # nothing loaded
        assert torch.equal(value, before[key])


def test_load_weights_errors(tmp_path):
    missing = tmp_path / "no" / "such.pt"
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        load_backbone_weights(_cnn(0), missing)
    torch.save([torch.zeros(2)], tmp_path / "list.pt")
    with pytest.raises(ValueError, match="holds a list, not a state dict"):
        load_backbone_weights(_cnn(0), tmp_path / "list.pt")
    torch.save(_cnn(0), tmp_path / "module.pt")  # a pickled module, not a state dict
    with pytest.raises(ValueError, match="is not a plain state dict"):
        load_backbone_weights(_cnn(0), tmp_path / "module.pt")


def test_safetensors_without_the_library_names_the_extra(tmp_path, monkeypatch):
    path = tmp_path / "w.safetensors"
    path.write_bytes(b"")
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.torch", None)
    with pytest.raises(ImportError, match=r"pip install 'sk-embed\[safetensors\]'"):
        load_backbone_weights(_cnn(0), path)


@pytest.mark.skipif(not _importable("safetensors"), reason="safetensors is not installed")
def test_safetensors_round_trip(tmp_path):
    from safetensors.torch import save_file

    source, target = _cnn(0), _cnn(1)
    save_file(source.state_dict(), tmp_path / "cnn.safetensors")
    load_backbone_weights(target, tmp_path / "cnn.safetensors")
    x = torch.randn(2, 1, 8, 8)
    torch.testing.assert_close(target(x), source(x), rtol=0, atol=0)


def test_a_fit_starts_from_backbone_weights_and_load_does_not_need_the_file(tmp_path):
    from sklearn.datasets import load_digits

    from sk_embed import EmbeddingClassifier

    X, y = load_digits(return_X_y=True)
    X, y = X[:200], y[:200]
    source = EmbeddingClassifier(n_components=4, max_epochs=2, tol=None, random_state=1).fit(X, y)
    path = tmp_path / "encoder.pt"
    torch.save(source.net_.module_.encoder.state_dict(), path)
    started = EmbeddingClassifier(
        n_components=4, max_epochs=0, random_state=0, backbone__weights=str(path)
    ).fit(X, y)
    for name, value in source.net_.module_.encoder.state_dict().items():
        assert torch.equal(value, started.net_.module_.encoder.state_dict()[name]), name
    trained = EmbeddingClassifier(
        n_components=4, max_epochs=1, tol=None, random_state=0, backbone__weights=str(path)
    ).fit(X, y)
    trained.save(tmp_path / "m.skembed")
    path.unlink()  # the weights are in the model file now
    loaded = EmbeddingClassifier.load(tmp_path / "m.skembed")
    np.testing.assert_array_equal(loaded.transform(X), trained.transform(X))


def _digits(n=200):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X[:n], y[:n]


def _backbone_state(model):
    module = model.net_.module_
    projection = {id(p) for p in module.projection().parameters()}
    named = dict(module.encoder.named_parameters())
    state = module.encoder.state_dict()
    return {
        k: v.clone() for k, v in state.items() if k not in named or id(named[k]) not in projection
    }


def _same_state(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_freeze_backbone_holds_the_backbone_bit_for_bit_and_trains_the_rest():
    from sk_embed import EmbeddingClassifier

    X, y = _digits()
    params = dict(n_components=4, tol=None, random_state=0, backbone__batch_norm=True)
    source = EmbeddingClassifier(max_epochs=2, **params).fit(X, y)
    model = EmbeddingClassifier(max_epochs=0, **params).fit(X, y)
    model.net_.module_.encoder.load_state_dict(source.net_.module_.encoder.state_dict())
    before = _backbone_state(model)
    projection = model.net_.module_.projection().weight.detach().clone()
    model.set_params(warm_start=True, freeze_backbone=True, max_epochs=2).fit(X, y)
    assert _same_state(before, _backbone_state(model))  # BatchNorm statistics included
    assert not torch.equal(projection, model.net_.module_.projection().weight)
    model.set_params(freeze_backbone=False, max_epochs=1).fit(X, y)
    assert not _same_state(before, _backbone_state(model))


def test_freeze_backbone_for_n_epochs_then_trains_it():
    from skorch.callbacks import Callback

    from sk_embed import EmbeddingClassifier

    states = []

    class Record(Callback):
        def on_epoch_end(self, net, **kwargs):
            states.append({k: v.clone() for k, v in net.module_.encoder.state_dict().items()})

    X, y = _digits()
    model = EmbeddingClassifier(
        n_components=4, max_epochs=4, tol=None, random_state=0, freeze_backbone=2,
        callbacks=[Record()],
    )  # fmt: skip
    model.fit(X, y)
    first = states[0]["layers.1.weight"]
    assert torch.equal(first, states[1]["layers.1.weight"])  # held for epochs 1 and 2
    assert not torch.equal(states[1]["layers.1.weight"], states[2]["layers.1.weight"])


def test_backbone_lr_gives_the_backbone_a_scaled_group(tmp_path):
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV

    from sk_embed import EmbeddingClassifier

    X, y = _digits()
    model = EmbeddingClassifier(
        n_components=4, max_epochs=2, tol=None, random_state=0, backbone_lr=0.1
    ).fit(X, y)
    groups = model.net_.optimizer_.param_groups
    assert len(groups) == 2 and groups[1]["lr"] == pytest.approx(0.1 * groups[0]["lr"])
    backbone = {id(p) for p in model.net_.module_.backbone_parameters()}
    assert {id(p) for p in groups[1]["params"]} == backbone
    model.save(tmp_path / "m.skembed")
    loaded = EmbeddingClassifier.load(tmp_path / "m.skembed")
    assert loaded.backbone_lr == 0.1 and clone(loaded).backbone_lr == 0.1
    loaded.partial_fit(X, y)  # goes on with the groups
    assert len(loaded.net_.optimizer_.param_groups) == 2
    search = GridSearchCV(
        EmbeddingClassifier(n_components=4, max_epochs=1, tol=None, random_state=0),
        {"backbone_lr": [0.1, 1.0], "freeze_backbone": [False, 1]},
        cv=2,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 4


def test_a_fitted_model_as_backbone_gives_a_copy_of_its_encoder_and_scaling(tmp_path):
    from sklearn.base import clone
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import cross_val_score

    from sk_embed import EmbeddingClassifier

    X, y = _digits(400)
    old, new = y < 5, y >= 5
    source = EmbeddingClassifier(n_components=8, max_epochs=3, tol=None, random_state=0)
    source.fit(X[old], y[old])
    before = {k: v.clone() for k, v in source.net_.module_.state_dict().items()}
    start = EmbeddingClassifier(n_components=8, max_epochs=0, backbone=source, random_state=0)
    start.fit(X[new], y[new])
    assert _same_state(
        source.net_.module_.encoder.state_dict(), start.net_.module_.encoder.state_dict()
    )
    assert torch.equal(source.net_.module_.scaler.mean, start.net_.module_.scaler.mean)
    held = EmbeddingClassifier(
        n_components=4, max_epochs=2, tol=None, random_state=0, backbone=source,
        freeze_backbone=True,
    ).fit(X[new], y[new])  # fmt: skip
    encoder = held.net_.module_.encoder[0].state_dict()  # a new layer maps 8 to 4
    assert _same_state(source.net_.module_.encoder.state_dict(), encoder)
    assert held.transform(X).shape == (400, 4)
    assert _same_state(before, source.net_.module_.state_dict())  # the source is untouched
    with pytest.raises(ValueError, match="not fitted.*FrozenEstimator"):
        clone(held).fit(X[new], y[new])
    frozen = clone(held).set_params(backbone=FrozenEstimator(source))
    assert cross_val_score(frozen, X[new], y[new], cv=2).shape == (2,)
    with pytest.raises(ValueError, match="shape"):
        EmbeddingClassifier(backbone=source).fit(X[:, :32], y)
    with pytest.raises((TypeError, ValueError), match="backbone"):
        held.save(tmp_path / "m.skembed")
