"""Probe a fitted model's life as a new user meets it, and count what goes wrong.

Each probe is one small scenario (a failed warm start, an interrupted ``add_classes``, a
structural parameter changed before going on, a fit in a thread, a model file edited,
...) and returns one outcome:

- ``ok``: the right result, or an error that names the problem;
- ``silent``: a wrong result without an error (a setting ignored, data changed, a
  wrong count of feature names, ...);
- ``broken-state``: a failed call left a state no call could have produced (weights
  changed while ``n_iter_`` did not, head columns other than ``classes_``, a saved file
  that does not load);
- ``unclear-error``: an error whose message does not say what is wrong, or names torch
  internals or a temporary file. An error escaping a probe where the call should have
  worked is counted here too, marked "unexpected".

It prints the ``sk_embed`` it imported, a Markdown table (probe, outcome, detail) and
the count of each outcome::

    python benchmarks/lifecycle_probe.py                       # every probe
    python benchmarks/lifecycle_probe.py --only interrupted    # probes whose name holds it
    PYTHONPATH=/path/to/other/checkout python benchmarks/lifecycle_probe.py

CPU only, one torch thread, fits of 300 digits for 3 epochs: about a minute on 2 cores.
The probes use the public calls and fitted attributes only, as a user sees the model:
its outputs on the 300 digits, ``class_centers_``, ``n_iter_``, ``history_``, saved
files. What needs the inside (a head grown half-way, a file rewritten with a matching
checksum, every trainable parameter after going on) is checked by
tests/test_lifecycle.py.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import io
import os
import re
import signal
import sys
import tempfile
import time
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import _harness as h  # a sibling: the scripts run from benchmarks/
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_score
from skorch.callbacks import Callback

import sk_embed
from sk_embed import EmbeddingClassifier as E
from sk_embed import metrics

X, y = load_digits(return_X_y=True)
X, y = X[:300], y[:300]
k = y < 8


def m(**kw):
    return E(n_components=4, max_epochs=3, random_state=0, **kw)


TECHNIQUES = ("softmax", "cosface", "center", "triplet", "soc")
OUTCOMES = ("ok", "silent", "broken-state", "unclear-error")
# Phrases of torch or Python internals, or a temporary file: an error showing one of
# them does not say what the user did wrong.
INTERNALS = (
    "/tmp/tmp",
    "state_dict",
    "size mismatch",
    "mat1 and mat2",
    "Inference tensors",
    "does not require grad",
    "not supported between instances",
    "out of bounds",
    "unhashable type",
    "object is not iterable",
    "Expected all tensors",
    "expected scalar type",
    "expected m1 and m2",
    "grad_fn",
)


# -- helpers -------------------------------------------------------------------------------


def short(text, n=220):
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 3] + "..."


def described(exc):
    return short(f"{type(exc).__name__}: {exc}")


def judge(exc, words, internals_ok=False):
    """``ok`` for an error that says what is wrong (one of ``words``) without internals
    (``internals_ok``: after saying it, as a quoted cause)."""
    text = f"{type(exc).__name__}: {exc}"
    clear = any(w.lower() in text.lower() for w in words)
    if clear and (internals_ok or not any(s in text for s in INTERNALS)):
        return "ok", "clear error: " + described(exc)
    return "unclear-error", described(exc)


def folder():
    """A temporary folder of the probe's own (its name tells it from a library's)."""
    return tempfile.TemporaryDirectory(prefix="probe-")


def snap(model):
    """What a user can see of a fitted model: its outputs on ``X``, where its classes
    sit, its epochs and classes."""
    return {
        "n_iter_": model.n_iter_,
        "len(history_)": len(model.history_),
        "classes_": model.classes_.tolist(),
        "predictions": model.predict(X),
        "transform": model.transform(X),
        "decision_function": model.decision_function(X),
        "class_centers_": model.class_centers_,
    }


def changes(a, b):
    out = []
    for key, old in a.items():
        new = b[key]
        if isinstance(old, np.ndarray):
            same = old.shape == new.shape and np.array_equal(
                old, new, equal_nan=old.dtype.kind == "f"
            )
        else:
            same = old == new
        if not same:
            out.append(key)
    return out


def after_failure(before, model, exc, words):
    """A call raised ``exc``: ``broken-state`` if it changed the model, else how clear
    its message is."""
    try:
        now = snap(model)
    except Exception as error:  # the model no longer answers
        return "broken-state", f"{described(exc)}; then the model fails: {described(error)}"
    changed = changes(before, now)
    if changed:
        return "broken-state", (
            f"{type(exc).__name__} raised, yet changed {', '.join(changed)} "
            f"(n_iter_ {before['n_iter_']}->{now['n_iter_']}, len(history_) "
            f"{before['len(history_)']}->{now['len(history_)']}): {short(exc, 80)}"
        )
    return judge(exc, words)


def go_on(model, how, X_=X, y_=y):
    if how == "warm_start":
        return model.set_params(warm_start=True).fit(X_, y_)
    return model.partial_fit(X_, y_)


class RaiseAt(Callback):
    """Raise ``error`` (a RuntimeError by default) at the ``batch``-th training batch of
    its next call, in epoch ``epoch`` of that call."""

    def __init__(self, batch=3, epoch=1, error=None):
        self.batch, self.epoch, self.error = batch, epoch, error

    def on_train_begin(self, net, **kwargs):
        self.seen, self.epochs = 0, 0

    def on_epoch_begin(self, net, **kwargs):
        self.epochs += 1

    def on_batch_end(self, net, training=False, **kwargs):
        if training and self.epochs == self.epoch:
            self.seen += 1
            if self.seen == self.batch:
                raise self.error or RuntimeError(f"injected at batch {self.batch}")


class Count(Callback):
    """Counts the epochs it sees, in a list shared with the probe (skorch may copy)."""

    def __init__(self, seen=None):
        self.seen = seen

    def on_epoch_end(self, net, **kwargs):
        self.seen.append(1)


def broken_augment(batch):
    raise RuntimeError("augment failed on purpose")


FAILURES = {
    "lr=1e6": lambda: (dict(lr=1e6), ("diverg",)),
    "augment-raises": lambda: (dict(augment=broken_augment), ("augment failed",)),
    "callback-raises@3": lambda: (dict(callbacks=[RaiseAt(3)]), ("injected",)),
}


def width_vs_names(model):
    width, names = model.transform(X).shape[1], len(model.get_feature_names_out())
    return None if width == names else f"transform gives {width} columns, {names} feature names"


# -- probes ----------------------------------------------------------------------------------

PROBES = {}


def probe(name, fn):
    assert name not in PROBES, name
    PROBES[name] = fn


def failed_goes_on(loss, how, failure):
    params, words = FAILURES[failure]()
    model = m(loss=loss).fit(X, y)
    before = snap(model)
    model.set_params(**params)
    try:
        go_on(model, how)
    except (Exception, KeyboardInterrupt) as exc:
        return after_failure(before, model, exc, words)
    now = snap(model)
    grew = f"n_iter_ {before['n_iter_']}->{now['n_iter_']}"
    if failure != "lr=1e6":
        return "silent", f"no error: the {failure} set before {how} was not used ({grew})"
    if not np.isfinite(now["transform"]).all():
        return "silent", f"no error, but transform gives non-finite values ({grew})"
    if now["n_iter_"] != len(model.history_):
        return "broken-state", f"{grew} but len(history_)={len(model.history_)}"
    return "ok", f"lr=1e6 trained without diverging ({grew}); outputs finite"


for _loss in TECHNIQUES:
    for _how in ("warm_start", "partial_fit"):
        for _failure in FAILURES:
            probe(
                f"failed-{_how}/{_failure}/{_loss}", partial(failed_goes_on, _loss, _how, _failure)
            )


def failed_after_limit(loss, how, failure):
    model = m(loss=loss).fit(X[k], y[k])
    model.add_classes(X[~k][:10], y[~k][:10], on_damage="limit")
    before = snap(model)
    params, words = FAILURES[failure]()
    model.set_params(**params)
    try:
        go_on(model, how)
    except (Exception, KeyboardInterrupt) as exc:
        return after_failure(before, model, exc, words)
    return "silent", f"no error: the {failure} set before {how} was not used"


for _loss in TECHNIQUES:
    probe(
        f"failed-after-add_classes(limit)/partial_fit/augment-raises/{_loss}",
        partial(failed_after_limit, _loss, "partial_fit", "augment-raises"),
    )
probe(
    "failed-after-add_classes(limit)/warm_start/augment-raises/cosface",
    partial(failed_after_limit, "cosface", "warm_start", "augment-raises"),
)
probe(
    "failed-after-add_classes(limit)/partial_fit/callback-raises@3/softmax",
    partial(failed_after_limit, "softmax", "partial_fit", "callback-raises@3"),
)


def interrupted_add_classes(loss, fraction):
    """An interrupt (Ctrl-C: SIGALRM raising KeyboardInterrupt) after ``fraction`` of
    the time ``add_classes`` takes: the model must be as before or have every new class,
    and save/load and a retry must work."""
    model = m(loss=loss).fit(X[k], y[k])
    start = time.perf_counter()
    copy.deepcopy(model).add_classes(X[~k][:10], y[~k][:10], on_damage="ignore")
    took = time.perf_counter() - start
    before, fired = snap(model), []

    def interrupt(signum, frame):
        fired.append(signum)
        raise KeyboardInterrupt

    handler = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, fraction * took)
        model.add_classes(X[~k][:10], y[~k][:10], on_damage="ignore")
        signal.setitimer(signal.ITIMER_REAL, 0)
        if fired:
            return "silent", "the KeyboardInterrupt was swallowed"
        when = "after it returned"
    except KeyboardInterrupt:
        when = "during the call"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, handler)
    problems = []
    try:
        now = snap(model)
        n = len(now["classes_"])
        if n == 8 and changes(before, now):
            problems.append(f"classes_ as before, yet changed {', '.join(changes(before, now))}")
        elif n == 10 and now["decision_function"].shape != (300, 10):
            problems.append(f"10 classes_, decision_function {now['decision_function'].shape}")
        elif n not in (8, 10):
            problems.append(f"{n} classes_")
    except Exception as error:
        problems.append(f"the model fails: {described(error)}")
    with folder() as tmp:
        try:
            model.save(os.path.join(tmp, "m.skembed"))
            loaded = E.load(os.path.join(tmp, "m.skembed"))
            if not np.array_equal(loaded.predict(X), model.predict(X)):
                problems.append("the loaded model predicts otherwise")
        except Exception as error:
            problems.append(f"save/load fails: {described(error)}")
    if len(model.classes_) == 8:
        try:
            model.add_classes(X[~k][:10], y[~k][:10], on_damage="ignore")
            if len(model.classes_) != 10 or model.predict_proba(X).shape != (300, 10):
                problems.append("a retry does not give 10 classes")
        except Exception as error:
            problems.append(f"a retry fails: {described(error)}")
    if problems:
        return "broken-state", f"interrupted {when}: " + "; ".join(problems)
    return "ok", (
        f"interrupted {when} ({fraction:.0%} of {took:.2f} s): {n} classes, consistent; "
        "save/load and a retry work"
    )


for _loss in TECHNIQUES:
    for _fraction in (0.3, 0.7):
        probe(
            f"interrupted-add_classes/at-{_fraction:.0%}/{_loss}",
            partial(interrupted_add_classes, _loss, _fraction),
        )


def every_class_moves(loss, after):
    """Training after ``load``, ``add_classes`` or with reserved classes moves the
    embedding and every class's scores (each parameter's own move: the tests')."""
    if after == "load":
        with folder() as tmp:
            m(loss=loss).fit(X, y).save(os.path.join(tmp, "m.skembed"))
            model = E.load(os.path.join(tmp, "m.skembed"))
    elif after == "add_classes":
        model = m(loss=loss).fit(X[k], y[k])
        model.add_classes(X[~k][:20], y[~k][:20], on_damage="ignore")
    else:
        model = m(loss=loss, reserve_classes=2).fit(X, y)
    before = snap(model)
    model.partial_fit(X, y)
    now = snap(model)
    if np.array_equal(before["transform"], now["transform"]):
        return "silent", "partial_fit left the embedding as it was"
    scores = before["decision_function"], now["decision_function"]
    still = [c for j, c in enumerate(now["classes_"]) if np.array_equal(*(s[:, j] for s in scores))]
    if still:
        return "silent", f"partial_fit left the scores of classes {still} as they were"
    return "ok", f"the embedding and the scores of all {len(now['classes_'])} classes moved"


for _after in ("load", "add_classes", "reserve_classes=2"):
    for _loss in TECHNIQUES:
        probe(f"train-after-{_after}/{_loss}", partial(every_class_moves, _loss, _after))


def structural(name, value, call, loss="softmax"):
    model = m(loss=loss).fit(X, y)
    before = snap(model)
    model.set_params(**{name: value})
    if call == "save":
        with folder() as tmp:
            path = os.path.join(tmp, "m.skembed")
            try:
                model.save(path)
            except Exception as exc:
                outcome, detail = after_failure(before, model, exc, (name,))
                if outcome == "ok" and width_vs_names(model):
                    return "silent", f"refused, but {width_vs_names(model)}"
                return outcome, detail
            try:
                loaded = E.load(path)
                predictions = loaded.predict(X)
            except Exception as error:
                return (
                    "broken-state",
                    f"saved without error; the file does not load: {described(error)}",
                )
            if not np.array_equal(predictions, before["predictions"]):
                differ = int((predictions != before["predictions"]).sum())
                return (
                    "silent",
                    f"saved without error; the loaded model predicts {differ} of 300 otherwise",
                )
            problem = width_vs_names(loaded)
            if problem:
                return "silent", f"saved and loaded; {problem}"
            return (
                "ok",
                f"saved and loaded with the same predictions ({name}={value!r} in its params)",
            )
    try:
        go_on(model, call)
    except Exception as exc:
        outcome, detail = after_failure(before, model, exc, (name,))
        if outcome == "ok" and width_vs_names(model):
            return "silent", f"refused, but {width_vs_names(model)}"
        return outcome, detail
    problem = width_vs_names(model)
    if problem:
        return "silent", f"{call} ran; {problem}"
    # warm_start's documentation: a change of what shapes the model is a ValueError
    return "silent", f"{call} ran after {name}={value!r} was set on the fitted model"


STRUCTURAL = [
    ("n_components", 3, "softmax"),
    ("loss", "cosface", "softmax"),
    ("activation", "relu", "softmax"),
    ("backbone", "cnn", "softmax"),
    ("precision", "bf16-mixed", "softmax"),
    ("loss__margin", 0.5, "cosface"),
]
for _name, _value, _loss in STRUCTURAL:
    for _call in ("warm_start", "partial_fit", "save"):
        probe(
            f"structural-{_call}/{_name}={_value!r}/{_loss}",
            partial(structural, _name, _value, _call, _loss),
        )
probe(
    "structural-partial_fit/n_components=3/triplet",
    partial(structural, "n_components", 3, "partial_fit", "triplet"),
)
probe(
    "structural-warm_start/reserve_classes=2/soc",
    partial(structural, "reserve_classes", 2, "warm_start", "soc"),
)
probe(
    "structural-partial_fit/backbone__hidden_sizes=(32,)/center",
    partial(structural, "backbone__hidden_sizes", (32,), "partial_fit", "center"),
)


def names_after_set_n_components():
    model = m().fit(X, y).set_params(n_components=3)
    problem = width_vs_names(model)
    if problem:
        return "silent", f"after set_params(n_components=3) on the fitted model: {problem}"
    return "ok", "transform width equals len(get_feature_names_out())"


probe("feature-names/after-set_params(n_components=3)", names_after_set_n_components)


def callbacks_used(how):
    model = m().fit(X, y)
    seen = []
    model.set_params(callbacks=[Count(seen)], max_epochs=2)
    go_on(model, how)
    expected = 2 if how == "warm_start" else 1
    if len(seen) != expected:
        return "silent", f"the callbacks set before {how} saw {len(seen)} epochs, not {expected}"
    return "ok", f"the callbacks set before {how} saw its {expected} epoch(s)"


def weight_decay_used():
    """A setting that takes effect changes the seeded result; one ignored does not."""
    plain = m().fit(X, y).set_params(warm_start=True).fit(X, y)
    decayed = m().fit(X, y).set_params(warm_start=True, optimizer__weight_decay=0.1).fit(X, y)
    if np.array_equal(plain.transform(X), decayed.transform(X)):
        return (
            "silent",
            "optimizer__weight_decay=0.1 set before warm start: the same model as without",
        )
    return "ok", "optimizer__weight_decay set before warm start is used (another model)"


def batch_size_used():
    model = m().fit(X, y)
    model.set_params(batch_size=32).partial_fit(X, y)
    batches = len(model.history_[-1, "batches"])
    if batches != 10:
        return "silent", f"batch_size=32 set before partial_fit: {batches} batches, not 10"
    return "ok", "batch_size set before partial_fit is used (10 batches)"


probe("settings-used/callbacks/warm_start", partial(callbacks_used, "warm_start"))
probe("settings-used/callbacks/partial_fit", partial(callbacks_used, "partial_fit"))
probe("settings-used/optimizer__weight_decay/warm_start", weight_decay_used)
probe("settings-used/batch_size/partial_fit", batch_size_used)


class Items(torch.utils.data.Dataset):
    def __init__(self, label):
        self.label = label

    def __len__(self):
        return len(X)

    def __getitem__(self, i):
        return torch.as_tensor(X[i], dtype=torch.float32), self.label(i)


DATASET_LABELS = {
    "int-and-str": (lambda i: "x" if i == 5 else int(y[i]), ("item 5", "'x'")),
    "None": (lambda i: None if i == 7 else int(y[i]), ("item 7",)),
    "one-hot": (
        lambda i: torch.nn.functional.one_hot(torch.tensor(int(y[i])), 10),
        ("one-hot", "shape (10,)"),
    ),
}


def dataset_labels(kind):
    label, words = DATASET_LABELS[kind]
    try:
        model = m().fit(Items(label))
    except Exception as exc:
        return judge(exc, words)
    return "silent", f"fit without error on {kind} labels; classes_={model.classes_.tolist()[:12]}"


for _kind in DATASET_LABELS:
    probe(f"dataset-labels/{_kind}", partial(dataset_labels, _kind))


def array_labels(kind):
    last, words = {"None": (None, ("y[299]",)), "int-and-str": ("a", ("two kinds", "mixes"))}[kind]
    labels = np.array([*y[:299].tolist(), last], dtype=object)
    try:
        model = m().fit(X, labels)
    except Exception as exc:
        return judge(exc, words)
    return "silent", f"fit without error on y with {kind}; classes_={model.classes_.tolist()}"


probe("array-labels/None", partial(array_labels, "None"))
probe("array-labels/int-and-str", partial(array_labels, "int-and-str"))


def in_place_augment(how):
    X_before, means = X.copy(), []

    def plus_100(batch):
        batch += 100
        means.append(float(batch.mean()))
        return batch

    if how == "fit":
        m(augment=plus_100, batch_size=300, tol=None).fit(X, y)
    else:
        model = m(batch_size=300).fit(X, y).set_params(augment=plus_100)
        for _ in range(3):
            model.partial_fit(X, y)
    if not np.array_equal(X, X_before):
        return "silent", "the user's X was changed"
    if max(means) - min(means) > 1e-3:
        drift = ", ".join(f"{v:.1f}" for v in means)
        return "silent", f"the training data changes across epochs: batch means {drift}"
    return "ok", f"every epoch sees the same data (batch mean {means[0]:.1f}, {len(means)} epochs)"


probe("in-place-augment/fit", partial(in_place_augment, "fit"))
probe("in-place-augment/partial_fit-x3", partial(in_place_augment, "partial_fit"))


def export_files():
    model = m().fit(X, y)
    with folder() as tmp:
        path = os.path.join(tmp, "m.onnx")
        quiet = io.StringIO()
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            model.export_onnx(path)
        files = sorted(os.listdir(tmp))
        if files != ["m.onnx"]:
            return "silent", f"export_onnx('m.onnx') wrote {files}"
        import onnxruntime

        out = onnxruntime.InferenceSession(path).run(None, {"X": X[:5].astype(np.float32)})[0]
        if not np.allclose(out, model.transform(X[:5]), atol=1e-4):
            return "silent", "the exported model's output differs from transform"
    return "ok", "one self-contained file, output equal to transform"


def missing_folder(what):
    model = m().fit(X, y)
    with folder() as tmp:
        path = os.path.join(tmp, "nowhere", "m." + ("onnx" if what == "export_onnx" else "skembed"))
        quiet = io.StringIO()
        try:
            with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
                getattr(model, what)(path)
        except Exception as exc:
            # every path the message names must be the user's file or its folder
            named = {p.rstrip(".") for p in re.findall(re.escape(tmp) + r"[^'\"\s:]*", str(exc))}
            others = named - {path, os.path.dirname(path)}
            if others:
                return "unclear-error", f"names another file, {sorted(others)}: {described(exc)}"
            return judge(exc, ("nowhere",))
        return "silent", f"{what} into a missing folder gave no error"


probe("export_onnx/extra-files", export_files)
probe("missing-folder/save", partial(missing_folder, "save"))
probe("missing-folder/export_onnx", partial(missing_folder, "export_onnx"))


def retrieval(case):
    Z, labels = np.random.default_rng(0).normal(size=(20, 2)), np.repeat([0, 1], 10)
    kwargs = {
        "k=0": dict(k=0),
        "k=-1": dict(k=-1),
        "k=2.7": dict(k=2.7),
        "k=(1, 0)": dict(k=(1, 0)),
        "y_ref-without-Z_ref": dict(y_ref=labels),
        "Z_ref-without-y_ref": dict(Z_ref=Z),
    }[case]
    words = ("Z_ref",) if "ref" in case else ("k=",)
    try:
        result = metrics.retrieval_scores(Z, labels, **kwargs)
    except Exception as exc:
        return judge(exc, words)
    return "silent", f"retrieval_scores({case}) returned {short(result, 120)}"


for _case in ("k=0", "k=-1", "k=2.7", "k=(1, 0)", "y_ref-without-Z_ref", "Z_ref-without-y_ref"):
    probe(f"retrieval_scores/{_case}", partial(retrieval, _case))


def embedding(loss, **kw):
    return m(loss=loss, **kw).fit(X, y).transform(X)


def threaded(loss, **kw):
    alone = embedding(loss, **kw)
    unequal, rng_moved = 0, 0
    for _ in range(4):
        rng = torch.get_rng_state()
        with ThreadPoolExecutor(2) as pool:
            outputs = list(pool.map(lambda _: embedding(loss, **kw), range(2)))
        rng_moved += not torch.equal(rng, torch.get_rng_state())
        unequal += sum(not np.array_equal(out, alone) for out in outputs)
    if unequal:
        return "silent", f"{unequal} of 8 threaded fits differ from the lone fit"
    if rng_moved:
        return "silent", f"the caller's torch RNG state moved in {rng_moved} of 4 rounds"
    return "ok", "8 threaded fits equal the lone fit; the caller's RNG state unchanged"


def lone_fit_rng():
    torch.manual_seed(1)
    rng = torch.get_rng_state()
    first = embedding("triplet", loss__mining="random")
    moved = not torch.equal(rng, torch.get_rng_state())
    torch.manual_seed(2)
    second = embedding("triplet", loss__mining="random")
    if moved:
        return "silent", "a seeded fit moved the caller's torch RNG state"
    if not np.array_equal(first, second):
        return "silent", "a seeded fit depends on the caller's torch seed"
    return "ok", "a seeded fit leaves the caller's RNG and ignores its seed"


probe("threads/cosface", partial(threaded, "cosface"))
probe("threads/soc", partial(threaded, "soc"))
probe("threads/triplet(mining=random)", partial(threaded, "triplet", loss__mining="random"))
probe("rng/lone-fit/triplet(mining=random)", lone_fit_rng)


def output_after_load():
    import pandas as pd

    model = m().fit(X, y).set_output(transform="pandas")
    with folder() as tmp:
        model.save(os.path.join(tmp, "m.skembed"))
        out = E.load(os.path.join(tmp, "m.skembed")).transform(X)
    if not isinstance(out, pd.DataFrame):
        return "silent", f"set_output(transform='pandas') lost at save/load: {type(out).__name__}"
    return "ok", "the loaded model's transform gives a DataFrame"


probe("set_output(pandas)/save-load", output_after_load)


def caller_mode(loss, mode):
    reference = embedding(loss)
    default = torch.get_default_dtype()
    try:
        if mode == "no_grad":
            with torch.no_grad():
                model = m(loss=loss).fit(X, y)
        elif mode == "inference_mode":
            with torch.inference_mode():
                model = m(loss=loss).fit(X, y)
        else:
            torch.set_default_dtype(torch.float64)
            model = m(loss=loss).fit(X, y)
        out = model.transform(X)
    except Exception as exc:
        return judge(exc, ("no_grad", "inference_mode", "default dtype", "float64"))
    finally:
        torch.set_default_dtype(default)
    if not np.array_equal(out, reference):
        diff = np.abs(out - reference).max()
        return "silent", f"a fit under {mode} gives another embedding (max diff {diff:.3g})"
    return "ok", f"a fit under {mode} equals the normal fit"


for _loss in TECHNIQUES:
    for _mode in ("no_grad", "inference_mode", "default_dtype=float64"):
        probe(f"caller-mode/fit/{_mode}/{_loss}", partial(caller_mode, _loss, _mode))


def add_classes_mode(loss, mode):
    def grown():
        model = m(loss=loss).fit(X[k], y[k])
        model.add_classes(X[~k][:10], y[~k][:10], on_damage="limit")
        return model

    reference = grown().predict_proba(X)
    default = torch.get_default_dtype()
    try:
        if mode in ("inference_mode", "no_grad"):
            model = m(loss=loss).fit(X[k], y[k])
            with torch.inference_mode() if mode == "inference_mode" else torch.no_grad():
                model.add_classes(X[~k][:10], y[~k][:10], on_damage="limit")
        elif mode == "load-under-float64":
            with folder() as tmp:
                m(loss=loss).fit(X[k], y[k]).save(os.path.join(tmp, "m.skembed"))
                torch.set_default_dtype(torch.float64)
                model = E.load(os.path.join(tmp, "m.skembed"))
                model.add_classes(X[~k][:10], y[~k][:10], on_damage="limit")
        else:
            model = m(loss=loss).fit(X[k], y[k])
            torch.set_default_dtype(torch.float64)
            model.add_classes(X[~k][:10], y[~k][:10], on_damage="limit")
        out = model.predict_proba(X)
    except Exception as exc:
        return judge(exc, ("inference_mode", "default dtype", "float64"))
    finally:
        torch.set_default_dtype(default)
    if not np.allclose(out, reference, atol=1e-6):
        diff = np.abs(out - reference).max()
        return "silent", f"add_classes under {mode} gives other probabilities (max diff {diff:.3g})"
    return "ok", f"add_classes under {mode} equals the normal one"


probe(
    "caller-mode/add_classes/inference_mode/soc", partial(add_classes_mode, "soc", "inference_mode")
)
probe("caller-mode/add_classes/no_grad/soc", partial(add_classes_mode, "soc", "no_grad"))
probe(
    "caller-mode/add_classes/inference_mode/cosface",
    partial(add_classes_mode, "cosface", "inference_mode"),
)
probe(
    "caller-mode/add_classes/default_dtype=float64/softmax",
    partial(add_classes_mode, "softmax", "float64"),
)
probe(
    "caller-mode/add_classes/load-under-float64/cosface",
    partial(add_classes_mode, "cosface", "load-under-float64"),
)


def load_mode(mode):
    model = m(loss="cosface").fit(X, y)
    default = torch.get_default_dtype()
    try:
        with folder() as tmp:
            model.save(os.path.join(tmp, "m.skembed"))
            if mode == "inference_mode":
                with torch.inference_mode():
                    loaded = E.load(os.path.join(tmp, "m.skembed"))
            else:
                torch.set_default_dtype(torch.float64)
                loaded = E.load(os.path.join(tmp, "m.skembed"))
        same = np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
        loaded.partial_fit(X, y)
    except Exception as exc:
        return judge(exc, ("inference_mode", "default dtype", "float64"))
    finally:
        torch.set_default_dtype(default)
    if not same:
        return "silent", f"a model loaded under {mode} gives other probabilities"
    return "ok", f"a model loaded under {mode} predicts as saved and trains on"


probe(
    "caller-mode/load-then-partial_fit/inference_mode/cosface", partial(load_mode, "inference_mode")
)
probe(
    "caller-mode/load-then-partial_fit/default_dtype=float64/cosface", partial(load_mode, "float64")
)


def warning_file(how):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        if how == "fit":
            E(n_components=4, max_epochs=2, random_state=0).fit(X, y)
        elif how == "warm_start":
            model = E(n_components=4, max_epochs=2, random_state=0, tol=None).fit(X, y)
            record.clear()
            model.set_params(warm_start=True, tol=1e-4).fit(X, y)
        else:
            cross_val_score(E(n_components=4, max_epochs=2, random_state=0), X, y, cv=2)
    files = sorted(
        {os.path.basename(w.filename) for w in record if w.category is ConvergenceWarning}
    )
    if not files:
        return "ok", "no ConvergenceWarning given"
    if files != [os.path.basename(__file__)]:
        return "silent", f"the ConvergenceWarning of {how} points at {files}"
    return "ok", "the ConvergenceWarning points at the caller's file"


probe("warning-filename/fit", partial(warning_file, "fit"))
probe("warning-filename/warm_start", partial(warning_file, "warm_start"))
probe("warning-filename/cross_val_score", partial(warning_file, "cross_val_score"))


def _flip(data):
    """The byte in the middle inverted."""
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]


DAMAGE = {  # a saved file's bytes -> the damaged bytes
    "truncated": lambda data: data[: len(data) // 2],
    "byte-flipped": _flip,
    "edited:n_components=3": lambda data: data.replace(b'"n_components": 4', b'"n_components": 3'),
    "edited:loss=cosface": lambda data: data.replace(b'"loss": "softmax"', b'"loss": "cosface"'),
}


def damaged_file(damage):
    """A saved file damaged or edited in place (its checksum not rewritten): ``load``
    must refuse it with an error that names the file."""
    with folder() as tmp:
        m().fit(X, y).save(os.path.join(tmp, "m.skembed"))
        with open(os.path.join(tmp, "m.skembed"), "rb") as f:
            data = f.read()
        damaged = DAMAGE[damage](data)
        if damaged == data:
            return "unclear-error", f"unexpected: the file holds nothing that {damage} changes"
        path = os.path.join(tmp, "damaged.skembed")
        with open(path, "wb") as f:
            f.write(damaged)
        try:
            E.load(path).predict(X)
        except Exception as exc:
            if "damaged.skembed" not in str(exc):
                return "unclear-error", "does not name the file: " + described(exc)
            return judge(exc, ("damaged", "not a readable", "changed after"))
    return "silent", f"the file {damage} loads and predicts without error"


for _damage in DAMAGE:
    probe(f"damaged-file/{_damage}", partial(damaged_file, _damage))


def bad_input_goes_on(case):
    model = m().fit(X[k], y[k])
    before = snap(model)
    try:
        if case == "unknown-label":
            model.set_params(warm_start=True).fit(X, y)
        elif case == "wrong-width":
            model.partial_fit(X[:, :10], y)
        else:
            model.partial_fit(X[k], y[k], sample_weight=np.ones(5))
    except Exception as exc:
        words = {"unknown-label": ("[8, 9]",), "wrong-width": ("10 features", "10")}
        return after_failure(before, model, exc, words.get(case, ("sample_weight", "5")))
    return "silent", f"{case}: no error"


probe("bad-input/warm_start/unknown-label", partial(bad_input_goes_on, "unknown-label"))
probe("bad-input/partial_fit/wrong-width", partial(bad_input_goes_on, "wrong-width"))
probe("bad-input/partial_fit/sample_weight-length", partial(bad_input_goes_on, "sample_weight"))


def interrupted_training(loss, how, epoch, data):
    model = m(loss=loss).fit(X, y)
    before = snap(model)
    X_, y_ = (X, y) if data == "same" else (X[150:], y[150:])
    model.set_params(callbacks=[RaiseAt(3, epoch, KeyboardInterrupt())], max_epochs=3)
    try:
        go_on(model, how, X_, y_)
    except KeyboardInterrupt:
        pass
    else:
        return "silent", "the interrupt was swallowed (or the callback not used)"
    now = snap(model)
    kept = now["n_iter_"] - before["n_iter_"]
    if now["n_iter_"] != now["len(history_)"]:
        return "broken-state", f"n_iter_={now['n_iter_']} but len(history_)={now['len(history_)']}"
    if kept != epoch - 1:
        return "broken-state", f"interrupted in epoch {epoch}: {kept} epochs kept"
    changed = [c for c in changes(before, now) if c != "n_iter_" and c != "len(history_)"]
    if kept == 0 and changed:
        # a warm start of max_epochs=0 on the same data: does a call give that state?
        zero = m(loss=loss).fit(X, y).set_params(warm_start=True, max_epochs=0).fit(X_, y_)
        if not changes(now, snap(zero)):
            return "silent", (
                f"no whole epoch kept (n_iter_ unchanged), yet changed {', '.join(changed)}: "
                "the state of a max_epochs=0 warm start on the interrupted call's data"
            )
        return (
            "broken-state",
            f"no whole epoch kept (n_iter_ unchanged), yet changed {', '.join(changed)}",
        )
    return "ok", f"interrupted in epoch {epoch}: {kept} whole epoch(s) kept, consistent"


for _loss, _how, _epoch, _data in (
    ("softmax", "warm_start", 2, "same"),
    ("triplet", "partial_fit", 1, "other"),
    ("softmax", "partial_fit", 1, "other"),
    ("center", "warm_start", 1, "other"),
):
    probe(
        f"interrupted-training/{_how}/epoch{_epoch}/{_loss}" + "/other-data" * (_data == "other"),
        partial(interrupted_training, _loss, _how, _epoch, _data),
    )


# -- running them ------------------------------------------------------------------------------


def run(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return PROBES[name]()
        except (Exception, KeyboardInterrupt) as exc:  # a call that should have worked
            return "unclear-error", "unexpected " + described(exc)


def main(argv=None):
    parser = h.parser(__doc__, seeds=None, jobs=None, params=False)
    parser.add_argument("--only", default="", help="run the probes whose name holds this")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    where = importlib.util.find_spec("sk_embed").origin
    print(f"sk_embed: {where} (version {getattr(sk_embed, '__version__', '?')})\n")
    names = [n for n in PROBES if args.only in n]
    counts, start, rows = Counter(), time.perf_counter(), []
    for i, name in enumerate(names, 1):
        outcome, detail = run(name)
        counts[outcome] += 1
        rows.append([i, name, outcome, detail.replace("|", "/")])
        print(f"{i}/{len(names)} {name}: {outcome}", file=sys.stderr, flush=True)
    print(h.table(rows, ["#", "probe", "outcome", "detail"]))
    print(f"\n{len(names)} probes in {time.perf_counter() - start:.0f} s\n")
    print(h.table([[outcome, counts[outcome]] for outcome in OUTCOMES], ["outcome", "count"]))


if __name__ == "__main__":
    main()
