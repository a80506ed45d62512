"""
Answering "unknown": a calibrated open-set decision
====================================================

``score_samples`` says how much a sample looks like *some* known class.
:class:`~sk_embed.OpenSetClassifier` turns it into a decision: it calibrates a
threshold on known-class samples held out from the fit (out-of-fold scores), so that
``known_rate`` of them are accepted, and ``predict`` answers ``unknown_label`` below it.
The score it thresholds is standardized within the predicted class, so that one
threshold suits tight and loose classes alike.

Here the model knows the digits 0 to 5; the test set also holds 6 to 9, which it has
never seen. The histogram shows the scores of both, and the calibrated threshold.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sk_embed import EmbeddingClassifier, OpenSetClassifier
from sk_embed.metrics import open_set_scores

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
known = y_train < 6
model = OpenSetClassifier(
    EmbeddingClassifier("center", n_components=10, random_state=0),
    known_rate=0.95,
    random_state=0,
).fit(X_train[known], y_train[known])

truth = np.where(y_test < 6, y_test, -1)  # -1: a class the model does not know
predicted = model.predict(X_test)
decision = open_set_scores(truth, predicted)
print(f"known samples accepted: {decision.known_rate:.3f} (asked for: 0.95)")
print(f"known samples given their own class: {decision.known_accuracy:.3f}")
print(f"unknown samples answered unknown: {decision.unknown_rejection:.3f}")

scores = model.score_samples(X_test)
fig, ax = plt.subplots(figsize=(6, 3))
bins = np.linspace(scores.min(), scores.max(), 40)
ax.hist(scores[y_test < 6], bins, alpha=0.6, label="known digits 0-5")
ax.hist(scores[y_test >= 6], bins, alpha=0.6, label="unknown digits 6-9")
ax.axvline(model.threshold_, color="k", linestyle="--", label="threshold (known_rate=0.95)")
ax.set_xlabel("score_samples, standardized per class (higher: more known)")
ax.set_ylabel("test samples (log scale)")
ax.set_yscale("log")
ax.legend(loc="upper left")
fig.tight_layout()
