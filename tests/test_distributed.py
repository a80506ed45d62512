"""Data-parallel training over torch.distributed: 2 CPU processes on gloo, started by
``notebook_launcher`` (forked, so they share this process's imports; each process
initializes its process group from the launcher's environment, as under torchrun).

Starting processes is the cost here, so each test is one launch that runs many checks
and returns what they found. The single-process references run in this process first,
with each rank's one torch thread."""

import hashlib
import multiprocessing
import os
import time

import numpy as np
import pytest
import torch
import torch.distributed as dist
from skorch.callbacks import Callback

import sk_embed
from sk_embed import EmbeddingClassifier, notebook_launcher

pytestmark = pytest.mark.skipif(
    not (dist.is_available() and dist.is_gloo_available()), reason="torch without gloo"
)

# A launch that hangs fails the test instead of the suite.
LAUNCH_TIMEOUT = 240
# 363 digits in batches of 64: the last batch (43) splits unevenly over the 2 ranks.
N = 363
SGD = {"optimizer": torch.optim.SGD, "lr": 0.05}


def _case_params(loss, backbone):
    """One equivalence case's parameters: 8-D, 3 epochs, seeded. Pair losses train with
    SGD: their objective does not change when the embedding moves as a whole, so the
    true gradient along that move is zero and Adam, which divides by the gradient's
    size, turns the rounding there into steps of the full learning rate (a single
    process on other CPU kernels drifts as far: 1e-2). ArcFace in 2-D is as sensitive
    (its target jumps where theta + m reaches pi), hence 8-D."""
    params = {"loss": loss, "backbone": backbone, "n_components": 8, "max_epochs": 3, "tol": None}
    if loss in ("contrastive", "triplet"):
        params.update(SGD)
    if backbone == "cnn":  # each rank draws its own rows' dropout masks, one process others
        params["backbone__dropout"] = 0.0
    return params


CASES = [(loss, "mlp") for loss in sk_embed.available_losses()] + [
    ("softmax", "cnn"),
    ("center", "cnn"),
    ("triplet", "cnn"),
]


def _data(digits, backbone):
    X, y = digits
    X = X[:N] if backbone == "mlp" else X[:N].reshape(-1, 8, 8)
    return X, y[:N]


def _digest(clf):
    """A hash of the fitted module's whole state."""
    state = clf.net_.module_.state_dict()
    return hashlib.sha256(b"".join(t.cpu().numpy().tobytes() for t in state.values())).hexdigest()


def _everyone(value):
    """``value`` of every rank (the launched processes' default group)."""
    values = [None] * dist.get_world_size()
    dist.all_gather_object(values, value)
    return values


class _Rows(Callback):
    """Rows this rank trained on, per epoch."""

    def __init__(self):
        self.rows = []

    def on_epoch_begin(self, net, **kwargs):
        self.rows.append(0)

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if training:
            self.rows[-1] += len(batch[0])


@pytest.fixture(scope="module")
def gloo():
    """Skip where 2 gloo processes cannot start; a short group timeout for the tests."""
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("notebook_launcher forks its processes; this platform cannot")
    previous = os.environ.get("SK_EMBED_DIST_TIMEOUT")
    os.environ["SK_EMBED_DIST_TIMEOUT"] = "30"
    try:
        assert notebook_launcher(_all_reduce, num_processes=2, timeout=60) == 2.0
    except (OSError, RuntimeError) as error:  # no loopback sockets, gloo without a device
        pytest.skip(f"2 gloo processes cannot start here: {error}")
    yield
    if previous is None:
        del os.environ["SK_EMBED_DIST_TIMEOUT"]
    else:
        os.environ["SK_EMBED_DIST_TIMEOUT"] = previous


def _all_reduce():
    dist.init_process_group("gloo")
    one = torch.ones(1)
    dist.all_reduce(one)
    return float(one)


def _train_cases(digits):
    results = {}
    for loss, backbone in CASES:
        X, y = _data(digits, backbone)
        rows = _Rows()
        params = _case_params(loss, backbone)
        clf = EmbeddingClassifier(**params, random_state=0, callbacks=[rows]).fit(X, y)
        results[loss, backbone] = {
            "Z": clf.transform(X),
            "same_weights": len(set(_everyone(_digest(clf)))) == 1,
            "rows": _everyone(rows.rows),
            "loss_curve": clf.loss_curve_,
        }
    return results


def test_two_ranks_train_the_model_one_process_would(gloo, digits):
    """For every technique (and three on the cnn): the ranks end bit-identical, each
    trained on about half the rows of each epoch, and the embedding equals that of one
    process with the same global batch to float rounding."""
    references = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each rank
    try:
        for loss, backbone in CASES:
            X, y = _data(digits, backbone)
            params = _case_params(loss, backbone)
            clf = EmbeddingClassifier(**params, random_state=0).fit(X, y)
            references[loss, backbone] = (clf.transform(X), clf.loss_curve_)
    finally:
        torch.set_num_threads(threads)
    results = notebook_launcher(
        _train_cases, args=(digits,), num_processes=2, timeout=LAUNCH_TIMEOUT
    )
    for case, (Z_one, curve_one) in references.items():
        found = results[case]
        assert found["same_weights"], case
        for rank_rows in found["rows"]:
            # each epoch: about half of the rows (class-balanced batches repeat a few)
            assert all(0.45 * N <= r <= 0.56 * N for r in rank_rows), (case, found["rows"])
        np.testing.assert_allclose(found["loss_curve"], curve_one, rtol=1e-5, err_msg=str(case))
        difference = np.abs(found["Z"] - Z_one).max() / np.abs(Z_one).max()
        assert difference <= 1e-4, (case, difference)


def _lifecycle(digits, folder):
    X, y = _data(digits, "mlp")
    found = {}
    clf = EmbeddingClassifier(max_epochs=2, random_state=None, early_stopping=True)
    clf.fit(X, y)  # random_state=None: every rank takes rank 0's seed
    found["seeded_alike"] = len(set(_everyone(_digest(clf)))) == 1
    found["predict"] = _everyone(clf.predict(X[:100]).tolist())
    clf.set_params(warm_start=True).partial_fit(X, y)
    found["partial_fit"] = len(set(_everyone(_digest(clf)))) == 1
    clf.add_classes(X[:12] + 2.0, np.full(12, 10))
    found["add_classes"] = len(set(_everyone(_digest(clf)))) == 1
    writes = []
    original = sk_embed.estimator._persistence.write
    sk_embed.estimator._persistence.write = lambda *args: writes.append(1) or original(*args)
    try:
        path = os.path.join(folder, "model.skembed")
        clf.save(path)
    finally:
        sk_embed.estimator._persistence.write = original
    found["writes"] = _everyone(len(writes))
    loaded = EmbeddingClassifier.load(path)  # every rank reads rank 0's file
    found["loaded"] = _everyone(bool((loaded.predict(X) == clf.predict(X)).all()))
    # the paths the equivalence test does not take: mixes (their labels exchanged),
    # weights, a backbone frozen for an epoch (DDP rebuilt), images kept as uint8
    reserve = EmbeddingClassifier(
        max_epochs=2, reserve_classes=2, reconstruction=0.5, random_state=0
    )
    found["reserve"] = len(set(_everyone(_digest(reserve.fit(X, y))))) == 1
    weighted = EmbeddingClassifier(loss="contrastive", max_epochs=2, random_state=0)
    weighted.fit(X, y, sample_weight=np.linspace(0.2, 2.0, len(y)))
    found["weighted"] = len(set(_everyone(_digest(weighted)))) == 1
    frozen = EmbeddingClassifier(max_epochs=2, freeze_backbone=1, random_state=0).fit(X, y)
    found["frozen"] = len(set(_everyone(_digest(frozen)))) == 1
    images = _data(digits, "cnn")[0].astype(np.uint8)
    dropout = EmbeddingClassifier(backbone="cnn", max_epochs=1, random_state=0).fit(images, y)
    found["dropout"] = len(set(_everyone(_digest(dropout)))) == 1
    cnn = EmbeddingClassifier(backbone="cnn", max_epochs=1, augment="shift", random_state=0)
    found["uint8"] = len(set(_everyone(_digest(cnn.fit(images, y))))) == 1
    return found


def test_a_fitted_model_is_whole_on_every_rank(gloo, digits, tmp_path):
    """Predictions of every row on every rank; partial_fit and add_classes keep the ranks
    identical; save writes once (rank 0) and every rank loads the file; mixes, weights,
    a frozen backbone and uint8 images train alike on both ranks."""
    found = notebook_launcher(
        _lifecycle, args=(digits, str(tmp_path)), num_processes=2, timeout=LAUNCH_TIMEOUT
    )
    assert found["seeded_alike"] and found["partial_fit"] and found["add_classes"]
    assert found["predict"][0] == found["predict"][1] and len(found["predict"][0]) == 100
    assert found["writes"] == [1, 0]
    assert found["loaded"] == [True, True]
    assert found["reserve"] and found["weighted"] and found["frozen"] and found["uint8"]
    assert found["dropout"]


def test_each_rank_has_a_stream_of_its_own_that_the_shared_one_seeds():
    """Dropout masks and augmentations: a stream per rank, from the shared stream's state
    and the rank, drawn without advancing the shared stream."""
    from types import SimpleNamespace

    from sk_embed._nn.distributed import _rank_own_draws

    shared = torch.Generator().manual_seed(5)
    before = shared.get_state()

    def draw(rank, label=b"layers", stream=shared):
        own = _rank_own_draws(SimpleNamespace(rank=rank), stream, label)
        return torch.rand(4, generator=own.on("cpu"))

    assert torch.equal(draw(0), draw(0)) and not torch.equal(draw(0), draw(1))
    assert not torch.equal(draw(0), draw(0, b""))
    assert torch.equal(shared.get_state(), before)
    assert not torch.equal(draw(0), draw(0, stream=torch.Generator().manual_seed(6)))


class _FailOnRank(Callback):
    def __init__(self, rank, epoch):
        self.rank, self.epoch = rank, epoch

    def on_epoch_end(self, net, **kwargs):
        if dist.get_rank() == self.rank and len(net.history) == self.epoch:
            raise RuntimeError(f"callback failed on rank {self.rank}")


def _failures(digits):
    X, y = _data(digits, "mlp")
    rank, seen = int(os.environ["RANK"]), {}
    bad = X.copy()
    if rank == 1:
        bad[7, 3] = np.nan
    for name, fit in [
        ("nan", lambda: EmbeddingClassifier(max_epochs=2, random_state=0).fit(bad, y)),
        (
            "callback",
            lambda: EmbeddingClassifier(
                max_epochs=4, random_state=0, callbacks=[_FailOnRank(1, 2)]
            ).fit(X, y),
        ),
    ]:
        start = time.monotonic()
        try:
            fit()
            seen[name] = None
        except Exception as error:
            seen[name] = (type(error).__name__, str(error), time.monotonic() - start)
    # after failures, the ranks train together again
    clf = EmbeddingClassifier(max_epochs=1, random_state=0).fit(X, y)
    seen["after"] = len(set(_everyone(_digest(clf)))) == 1
    return seen


def test_a_failure_on_one_rank_ends_every_rank_with_it(gloo, digits):
    """NaN in rank 1's X, a callback that raises on rank 1 only: rank 0 raises the same
    error at once (not at the group's timeout); the next fit trains together again."""
    seen = notebook_launcher(_failures, args=(digits,), num_processes=2, timeout=LAUNCH_TIMEOUT)
    kind, message, seconds = seen["nan"]
    assert kind == "ValueError" and "NaN" in message and seconds < 20, seen["nan"]
    kind, message, seconds = seen["callback"]
    assert kind == "RuntimeError" and "rank 1" in message and seconds < 20, seen["callback"]
    assert seen["after"]


def _raise_on_rank_1():
    X = np.random.default_rng(0).normal(size=(40, 4))
    y = np.arange(40) % 2
    if int(os.environ["RANK"]) == 1:
        X = X[:, :3]  # rank 1 holds other data
    return EmbeddingClassifier(max_epochs=1, random_state=0).fit(X, y)


def test_the_launcher_raises_what_a_process_raised(gloo):
    with pytest.raises(ValueError, match="different training data") as raised:
        notebook_launcher(_raise_on_rank_1, num_processes=2, timeout=LAUNCH_TIMEOUT)
    assert any("notebook_launcher" in note for note in raised.value.__notes__)


def test_the_launcher_refuses_what_it_cannot_run():
    with pytest.raises(ValueError, match="num_processes"):
        notebook_launcher(print, num_processes=0)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            notebook_launcher(print)
