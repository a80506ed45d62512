"""
Starting from a trained encoder
===============================

An encoder fitted on some classes can be the start of a model for others:
``backbone=<fitted EmbeddingClassifier>`` copies its trained encoder and its input
standardization. ``freeze_backbone=True`` holds the copy as it is while the last layer
and the head learn the new classes; ``backbone_lr=0.1`` fine-tunes it at a tenth of the
rate. Here the cnn is fitted with ``cosface`` (32-D) on digits 0-4 as 8x8 images, and
digits 5-9 are learned from 5, 20 and 50 samples each, against the same network trained
from scratch and nearest class mean on the pixels; one seed.
``benchmarks/transfer.py`` gives three seeds and ``softmax`` too (docs/transfer.md).
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.neighbors import NearestCentroid

from sk_embed import EmbeddingClassifier

X, y = load_digits(return_X_y=True)
images = X.reshape(-1, 8, 8)
old = y < 5
params = dict(loss="cosface", n_components=32, backbone="cnn", random_state=0)
source = EmbeddingClassifier(**params).fit(images[old], y[old])

starts = {
    "frozen encoder": dict(backbone=source, freeze_backbone=True),
    "fine-tuned (backbone_lr=0.1)": dict(backbone=source, backbone_lr=0.1),
    "from scratch": {},
}
shots = [5, 20, 50]
rng = np.random.RandomState(0)
curves = {name: [] for name in [*starts, "pixels, nearest class mean"]}
for k in shots:
    few = np.concatenate(
        [rng.choice(np.flatnonzero(y == c), k, replace=False) for c in range(5, 10)]
    )
    rest = np.setdiff1d(np.flatnonzero(~old), few)
    for name, extra in starts.items():
        model = EmbeddingClassifier(**{**params, **extra}).fit(images[few], y[few])
        curves[name].append(model.score(images[rest], y[rest]))
    with warnings.catch_warnings():
        # a border pixel can be 0 in every sample of a class, which NearestCentroid
        # warns about; its nearest-mean prediction is the same
        warnings.simplefilter("ignore", UserWarning)
        pixels = NearestCentroid().fit(X[few], y[few])
    curves["pixels, nearest class mean"].append(pixels.score(X[rest], y[rest]))

fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
for name, values in curves.items():
    ax.plot(shots, values, marker="o", label=name)
ax.set_xscale("log")
ax.set_xticks(shots, [str(k) for k in shots])
ax.xaxis.set_minor_locator(plt.NullLocator())
ax.set_xlabel("samples of each new class", fontsize=12)
ax.set_ylabel("accuracy on the other samples of digits 5-9", fontsize=12)
ax.set_title("New classes on an encoder fitted on digits 0-4", fontsize=13)
ax.legend(fontsize=11)
plt.show()
