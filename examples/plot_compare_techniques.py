"""
Comparing techniques in 2-D
===========================

Six ways of shaping the embedded space of the same network, each fitted on the digits
training split and drawn on the held-out split: the decision regions, the class centers
and, for ``soc``, the class densities.
"""

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sk_embed import EmbeddingClassifier
from sk_embed.plotting import plot_comparison

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)

panels = {}
for loss in ["softmax", "cosface", "center", "contrastive", "regression", "soc"]:
    clf = EmbeddingClassifier(loss, n_components=2, random_state=0).fit(X_train, y_train)
    panels[("digits", f"{loss} ({clf.score(X_test, y_test):.2f})")] = (clf, X_test, y_test)

fig = plot_comparison(panels, ncols=3)
