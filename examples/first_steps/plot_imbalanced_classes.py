"""
Imbalanced classes: class_weight and sample_weight
==================================================

Real labelled data is rarely balanced. Here digits 0 to 4 keep only a tenth of their
training samples, so a model that favours the common classes is right more often on the
training data. ``class_weight="balanced"`` gives every class the same total weight in
the training objective, as in scikit-learn's ``LogisticRegression``; the same weights can
be passed per sample with ``fit(X, y, sample_weight=...)``, which also takes any weights
of your own (survey weights, label confidence, or 0 to leave a row out).

The technique is ``soc`` at 10-D. The test set is balanced, so the score is the
balanced accuracy. The bars show one run (seed 0); ``benchmarks/weights.py`` gives the
means over three seeds for four techniques.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import balanced_accuracy_score, recall_score
from sklearn.model_selection import train_test_split

from sk_embed import EmbeddingClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
rng = np.random.RandomState(0)
rare = np.isin(y_train, [0, 1, 2, 3, 4])
keep = ~rare | (rng.rand(len(y_train)) < 0.1)  # classes 0-4 at about 10%
X_train, y_train = X_train[keep], y_train[keep]
print("training samples per class:", np.bincount(y_train))

models = {
    "unweighted": EmbeddingClassifier("soc", n_components=10, random_state=0),
    'class_weight="balanced"': EmbeddingClassifier(
        "soc", n_components=10, class_weight="balanced", random_state=0
    ),
}
recalls = {}
for name, model in models.items():
    predicted = model.fit(X_train, y_train).predict(X_test)
    recalls[name] = recall_score(y_test, predicted, average=None)
    print(f"{name}: balanced accuracy {balanced_accuracy_score(y_test, predicted):.3f}")

fig, ax = plt.subplots(figsize=(6, 3.4))
width = 0.4
for i, (name, recall) in enumerate(recalls.items()):
    ax.bar(np.arange(10) + (i - 0.5) * width, recall, width, label=name)
ax.axvspan(-0.5, 4.5, color="0.92", zorder=0)
ax.text(2, 1.03, "rare in training", ha="center")
ax.set_xticks(range(10))
ax.set_xlabel("digit")
ax.set_ylabel("recall on the test set")
ax.set_ylim(0, 1.12)
ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
fig.legend(loc="lower center", ncols=2, frameon=False)
fig.tight_layout(rect=(0, 0.08, 1, 1))
