"""Do sample weights and class weights do what a scikit-learn user expects? (docs/weights.md)

Two parts, on scikit-learn's digits (70/30 stratified split, seed 0), 10-D, defaults:

- ``imbalanced``: in the training split, classes 0 to 4 keep 10% of their samples (drawn
  with the seed); the test split stays as it is (balanced). Balanced accuracy of each
  technique unweighted and with ``class_weight="balanced"``, against ``MLPClassifier``
  fitted with the same balanced ``sample_weight`` and
  ``LogisticRegression(class_weight="balanced")``.
- ``noisy``: 30% of the training labels are shuffled among themselves and given weight 0.
  Held-out accuracy of each technique fitted with those weights, against the same
  technique fitted on the clean 70% alone.

A third part, ``sparse``, is text: a corpus the script writes (8 topics, 600 documents
each, words drawn from a Zipf vocabulary of 20,000 with each topic favouring its own
words), ``TfidfVectorizer``, 70/30 split. The 5-NN accuracy of a 2-D embedding fitted
on the CSR matrix, against ``TruncatedSVD(100)`` + NCA in a Pipeline; and the peak
memory of a process that fits from the CSR matrix against one that fits from the same
matrix made dense.

Mean and standard deviation over the seeds (which also draw the subsample, the noisy
rows and the corpus). Usage: python benchmarks/weights.py [--seeds 0 1 2]
[--parts imbalanced noisy sparse] [--losses ...] [--jobs 2]
"""

import os
import warnings

import _harness as h  # a sibling: the scripts run from benchmarks/
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight

from sk_embed import EmbeddingClassifier, available_losses

DIM = 10
IMBALANCED_LOSSES = ["softmax", "cosface", "center", "soc"]


def imbalanced_split(seed):
    """The training split with classes 0-4 cut to 10%, and the test split."""
    X_train, X_test, y_train, y_test = h.digits_split(0)
    rng = np.random.RandomState(seed)
    keep = np.ones(len(y_train), dtype=bool)
    for c in range(5):
        rows = np.flatnonzero(y_train == c)
        drop = rng.choice(rows, size=len(rows) - round(0.1 * len(rows)), replace=False)
        keep[drop] = False
    return X_train[keep], X_test, y_train[keep], y_test


def noisy_split(seed):
    """The training split with 30% of its labels shuffled, their weights 0."""
    X_train, X_test, y_train, y_test = h.digits_split(0)
    rng = np.random.RandomState(seed)
    noisy = rng.choice(len(y_train), size=round(0.3 * len(y_train)), replace=False)
    y_noisy = y_train.copy()
    y_noisy[noisy] = rng.permutation(y_train[noisy])
    weight = np.ones(len(y_train))
    weight[noisy] = 0.0
    return X_train, X_test, y_noisy, y_test, weight


def _fit_imbalanced(method, seed):
    X_train, X_test, y_train, y_test = imbalanced_split(seed)
    balanced = compute_sample_weight("balanced", y_train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "MLPClassifier (balanced weights)":
            model = make_pipeline(StandardScaler(), MLPClassifier(random_state=seed))
            model.fit(X_train, y_train, mlpclassifier__sample_weight=balanced)
        elif method == "LogisticRegression (balanced)":
            model = make_pipeline(
                StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=2000)
            )
            model.fit(X_train, y_train)
        else:
            loss, _, weighting = method.partition(" ")
            class_weight = "balanced" if weighting == "(balanced)" else None
            model = EmbeddingClassifier(loss, DIM, class_weight=class_weight, random_state=seed)
            model.fit(X_train, y_train)
    predicted = model.predict(X_test)
    return {
        "method": method,
        "seed": seed,
        "balanced_accuracy": balanced_accuracy_score(y_test, predicted),
        "minority_recall": float(np.mean(predicted[y_test < 5] == y_test[y_test < 5])),
    }


def _fit_noisy(loss, how, seed):
    X_train, X_test, y_noisy, y_test, weight = noisy_split(seed)
    model = EmbeddingClassifier(loss, DIM, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if how == "noisy rows at weight 0":
            model.fit(X_train, y_noisy, sample_weight=weight)
        else:  # the clean rows alone
            clean = weight > 0
            model.fit(X_train[clean], y_noisy[clean])
    return {"method": loss, "how": how, "seed": seed, "accuracy": model.score(X_test, y_test)}


def imbalanced(args):
    methods = [f"{loss} {w}" for loss in args.losses_imbalanced for w in ("", "(balanced)")]
    methods = [m.strip() for m in methods]
    methods += ["MLPClassifier (balanced weights)", "LogisticRegression (balanced)"]
    tasks = [(m, s) for m in methods for s in args.seeds]
    rows = h.runs(_fit_imbalanced, tasks, jobs=args.jobs, threads=1)
    print(f"\n### Imbalanced digits: classes 0-4 at 10% in training, {DIM}-D "
          f"(mean ± sd over seeds {args.seeds})\n")  # fmt: skip
    table = []
    for method in methods:
        mine = [r for r in rows if r["method"] == method]
        table.append(
            {
                "method": method,
                "balanced accuracy": [r["balanced_accuracy"] for r in mine],
                "recall of classes 0-4": [r["minority_recall"] for r in mine],
            }
        )
    print(h.table(table))
    return rows


def noisy(args):
    hows = ("noisy rows at weight 0", "clean rows alone")
    tasks = [(m, how, s) for m in args.losses for how in hows for s in args.seeds]
    rows = h.runs(_fit_noisy, tasks, jobs=args.jobs, threads=1)
    print(f"\n### Noisy labels: 30% of the training labels shuffled and given weight 0, "
          f"{DIM}-D (mean ± sd over seeds {args.seeds})\n")  # fmt: skip
    table = []
    for method in args.losses:
        by = {how: [r["accuracy"] for r in rows if r["method"] == method and r["how"] == how]
              for how in hows}  # fmt: skip
        diff = [100 * (a - b) for a, b in zip(*by.values())]
        table.append(
            {"method": method, **by,
             "difference (points)": f"{np.mean(diff):+.1f} (worst {max(diff, key=abs):+.1f})"}
        )  # fmt: skip
    print(h.table(table))
    return rows


def corpus(seed, n_topics=8, per_topic=600, vocabulary=20_000, length=80):
    """Documents of ``n_topics`` topics: each word is a topic word (a fifth of the time,
    from the topic's own 300) or a common one (Zipf over the whole vocabulary)."""
    rng = np.random.RandomState(seed)
    zipf = 1.0 / np.arange(1, vocabulary + 1)
    zipf /= zipf.sum()
    own = [rng.choice(vocabulary, 300, replace=False) for _ in range(n_topics)]
    docs, labels = [], []
    for topic in range(n_topics):
        for _ in range(per_topic):
            common = rng.choice(vocabulary, length, p=zipf)
            mine = rng.choice(own[topic], length)
            words = np.where(rng.rand(length) < 0.2, mine, common)
            docs.append(" ".join(f"w{w}" for w in words))
            labels.append(topic)
    return docs, np.array(labels)


def _tfidf(seed):
    from sklearn.feature_extraction.text import TfidfVectorizer

    docs, y = corpus(seed)
    train, test, _, _ = h.split(np.arange(len(y)), y)
    vectorizer = TfidfVectorizer().fit([docs[i] for i in train])
    X_train = vectorizer.transform([docs[i] for i in train])
    X_test = vectorizer.transform([docs[i] for i in test])
    return X_train, X_test, y[train], y[test]


def _fit_sparse(method, seed):
    from sklearn.decomposition import TruncatedSVD
    from sklearn.neighbors import NeighborhoodComponentsAnalysis

    from sk_embed.metrics import knn_accuracy

    X_train, X_test, y_train, y_test = _tfidf(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "TruncatedSVD(100) + NCA":
            model = make_pipeline(
                TruncatedSVD(100, random_state=seed),
                NeighborhoodComponentsAnalysis(2, random_state=seed),
            )
        else:
            model = EmbeddingClassifier(method, 2, random_state=seed)
        model.fit(X_train, y_train)
    Z_train, Z_test = model.transform(X_train), model.transform(X_test)
    return {"method": method, "seed": seed, "knn": knn_accuracy(Z_train, y_train, Z_test, y_test)}


def _peak_memory(form):
    """Peak resident memory (MB) before and after a fit from the corpus as ``form``
    (``"csr"`` or ``"dense"``), and its number of features; run in a fresh process."""
    X, _, y, _ = _tfidf(0)
    X = X.toarray() if form == "dense" else X
    # a first small fit loads torch's kernels, so the second measures the fit itself
    EmbeddingClassifier(max_epochs=1, tol=None).fit(X[:64], y[:64])
    _, before = h.memory_mb()
    EmbeddingClassifier(max_epochs=3, tol=None, random_state=0).fit(X, y)
    _, after = h.memory_mb()
    return before, after, X.shape[1]


def sparse(args):
    methods = args.losses_sparse + ["TruncatedSVD(100) + NCA"]
    tasks = [(m, s) for m in methods for s in args.seeds]
    rows = h.runs(_fit_sparse, tasks, jobs=args.jobs, threads=1)
    print(f"\n### Sparse text: TF-IDF of the generated corpus, 2-D, 5-NN accuracy of the "
          f"held-out documents (mean ± sd over seeds {args.seeds})\n")  # fmt: skip
    table = [
        {"method": m, "5-NN accuracy": [r["knn"] for r in rows if r["method"] == m]}
        for m in methods
    ]
    print(h.table(table) + "\n")
    memory = []
    for form in ("CSR", "dense"):
        before, after, n_features = h.fresh_process(_peak_memory, form.lower())
        memory.append(
            {
                "fitted from": f"{form} ({n_features} features)",
                "peak memory before the fit (MB)": before,
                "after (MB)": after,
                "added by the fit": after - before,
            }
        )
    print(h.table(memory, digits=0))
    return rows


PARTS = {"imbalanced": imbalanced, "noisy": noisy, "sparse": sparse}


def main():
    parser = h.parser(__doc__, jobs=os.cpu_count(), params=False, out=True)
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=list(PARTS))
    parser.add_argument("--losses", nargs="+", default=available_losses())
    parser.add_argument("--losses-imbalanced", nargs="+", default=IMBALANCED_LOSSES)
    parser.add_argument("--losses-sparse", nargs="+", default=["softmax", "contrastive", "soc"])
    args = parser.parse_args()
    h.save(args.out, {part: PARTS[part](args) for part in args.parts})


if __name__ == "__main__":
    main()
