"""
Open-set scores and new classes
===============================

Fitted on digits 0-5 only, ``score_samples`` tells known digits from the unseen 6-9
(higher: looks like a known class); then ``add_classes`` places 6-9 from five samples
each, with the encoder frozen.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sk_embed import EmbeddingClassifier
from sk_embed.metrics import open_set_auroc

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
known_train, known_test = y_train < 6, y_test < 6

clf = EmbeddingClassifier("cosface", n_components=32, reserve_classes=15, random_state=0)
clf.fit(X_train[known_train], y_train[known_train])
auroc = open_set_auroc(clf, X_test[known_test], X_test[~known_test])

rng = np.random.default_rng(0)
few = np.concatenate([rng.choice(np.flatnonzero(y_train == c), 5, False) for c in range(6, 10)])
clf.add_classes(X_train[few], y_train[few])
new_acc = clf.score(X_test[~known_test], y_test[~known_test])
known_acc = clf.score(X_test[known_test], y_test[known_test])

fig, ax = plt.subplots(figsize=(5.5, 3.5))
scores = clf.score_samples(X_test)  # after add_classes: every class is known now
bins = np.linspace(scores.min(), scores.max(), 30)
ax.hist(scores[known_test], bins=bins, alpha=0.6, label="digits 0-5 (trained)")
ax.hist(scores[~known_test], bins=bins, alpha=0.6, label="digits 6-9 (5 samples each)")
ax.set_xlabel("score_samples (largest cosine to a class direction)")
ax.set_ylabel("test samples")
ax.set_title(
    f"AUROC before adding 6-9: {auroc:.3f}\nafter: new {new_acc:.2f}, known {known_acc:.2f}"
)
ax.legend()
fig.tight_layout()
