"""Tests of sk_embed/metrics.py."""

import matplotlib

matplotlib.use("Agg")
import math

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.metrics import silhouette_score  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402

from sk_embed import EmbeddingClassifier, metrics  # noqa: E402
from sk_embed.metrics import (  # noqa: E402
    compactness_ratio,
    embedding_scores,
    few_shot_accuracy,
    knn_accuracy,
    map_at_r,
    open_set_auroc,
    precision_at_1,
    silhouette,
)


def test_knn_accuracy_and_silhouette_equal_scikit_learn(rng):
    Z_train, Z_test = rng.normal(size=(200, 3)), rng.normal(size=(80, 3))
    y_train, y_test = rng.integers(0, 4, 200), rng.integers(0, 4, 80)
    Z_train[:, 0] += y_train
    Z_test[:, 0] += y_test
    want = KNeighborsClassifier(5).fit(Z_train, y_train).score(Z_test, y_test)
    assert knn_accuracy(Z_train, y_train, Z_test, y_test) == want
    assert silhouette(Z_test, y_test) == pytest.approx(silhouette_score(Z_test, y_test))


def test_retrieval_scores_by_hand():
    # references: class 0 at 0 and 1, class 1 at 10 and 11 and 3
    Z_train = np.array([[0.0], [1.0], [10.0], [11.0], [3.0]])
    y_train = np.array([0, 0, 1, 1, 1])
    # query A (class 0) at 0.2: neighbours 0(0), 1(0) -> R = 2, hits 1,1 -> AP 1, P@1 1
    # query B (class 1) at 2.5: neighbours 3(1), 1(0), 0(0) -> R = 3, hits 1,0,0
    #   -> AP = (1/1)/3 = 1/3, P@1 1
    # query C (class 0) at 9: neighbours 10(1), 11(1) -> R = 2, no hit -> AP 0, P@1 0
    Z_test = np.array([[0.2], [2.5], [9.0]])
    y_test = np.array([0, 1, 0])
    assert precision_at_1(Z_train, y_train, Z_test, y_test) == pytest.approx(2 / 3)
    assert map_at_r(Z_train, y_train, Z_test, y_test) == pytest.approx((1 + 1 / 3 + 0) / 3)
    # the same in chunks of one query
    assert map_at_r(Z_train, y_train, Z_test, y_test, chunk_size=1) == pytest.approx(4 / 9)
    # query D (class 1) at 10.4: neighbours 10, 11, then 3 (class 1, third) -> R = 3:
    # hits 1,1,1 -> AP 1
    assert map_at_r(Z_train, y_train, np.array([[10.4]]), np.array([1])) == 1.0


def test_compactness_ratio_by_hand():
    Z = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 0.0], [10.0, 2.0]])
    y = np.array([0, 0, 1, 1])
    # class means (1, 0) and (10, 1): every sample 1 from its mean; means sqrt(82) apart
    assert compactness_ratio(Z, y) == pytest.approx(1 / np.sqrt(82))


def test_embedding_scores_has_every_score(small):
    X, y = small
    clf = EmbeddingClassifier(max_epochs=3, tol=None, random_state=0).fit(X[:200], y[:200])
    scores = embedding_scores(clf, X[:200], y[:200], X[200:], y[200:])
    assert set(scores) == {
        "accuracy",
        "knn_accuracy",
        "silhouette",
        "precision_at_1",
        "map_at_r",
        "compactness",
    }
    assert scores["accuracy"] == clf.score(X[200:], y[200:])
    raw = embedding_scores(None, clf.transform(X[:200]), y[:200], clf.transform(X[200:]), y[200:])
    assert np.isnan(raw["accuracy"]) and raw["map_at_r"] == scores["map_at_r"]


def test_retrieval_memory_is_bounded_for_large_sets(rng):
    """100 000 points: neighbours are searched in chunks (it finishes, quickly)."""
    Z = rng.normal(size=(100_000, 2)).astype(np.float32)
    y = rng.integers(0, 50, 100_000)
    assert 0 <= precision_at_1(Z[:99_000], y[:99_000], Z[99_000:], y[99_000:]) <= 1


@pytest.fixture(scope="module")
def known_unknown(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    return X_train, X_test, y_train, y_test


@pytest.mark.quality
@pytest.mark.parametrize("loss", ["soc", "cosface"])
def test_open_set_auroc_on_held_out_digits(known_unknown, loss, seed, record_property):
    """Fit on 0-5; score_samples separates known from unknown test digits (10-D)."""
    X_train, X_test, y_train, y_test = known_unknown
    clf = EmbeddingClassifier(loss, n_components=10, random_state=seed)
    clf.fit(X_train[y_train < 6], y_train[y_train < 6])
    auroc = open_set_auroc(clf, X_test[y_test < 6], X_test[y_test >= 6])
    record_property("auroc", float(auroc))
    assert auroc >= 0.85  # 0.915 to 0.978 (benchmarks/quality_margins.py, 12 runs)


def test_open_set_auroc_on_raw_scores():
    assert open_set_auroc(None, [3, 4, 5], [0, 1, 2]) == 1.0
    assert open_set_auroc(None, [0, 1], [0, 1]) == 0.5
    assert open_set_auroc(None, [1, 3], [2, 0]) == 0.75  # 3 of 4 pairs ordered
    with pytest.raises(ValueError, match="at least one"):
        open_set_auroc(None, [], [1.0])


def test_few_shot_accuracy_by_hand():
    # Two classes in 1-D, 1-shot, 1 query each. Class A is {0, 0}; class B is {0.9, 2}.
    # Support B = 2: prototypes 0 and 2, query 0.9 is nearer 0 -> episode accuracy 1/2.
    # Support B = 0.9: prototypes 0 and 0.9, query 2 -> B; both right -> accuracy 1.
    Z = np.array([[0.0], [0.0], [0.9], [2.0]])
    y = np.array([0, 0, 1, 1])
    mean, ci = few_shot_accuracy(Z, y, n_way=2, k_shot=1, n_query=1, n_episodes=400, random_state=0)
    p = 2 * (mean - 0.5)  # share of episodes with accuracy 1
    assert p * 400 == pytest.approx(round(p * 400))
    assert 0.65 < mean < 0.85
    assert ci == pytest.approx(1.96 * 0.5 * math.sqrt(p * (1 - p)) / math.sqrt(400))
    # well-separated classes: every episode is right
    Z2 = np.r_[np.zeros((20, 2)), np.ones((20, 2)) * 5, np.ones((20, 2)) * -5]
    y2 = np.repeat([0, 1, 2], 20)
    assert tuple(few_shot_accuracy(Z2, y2, 3, 5, n_episodes=10, random_state=1)) == (1.0, 0.0)


def test_few_shot_accuracy_needs_enough_classes():
    with pytest.raises(ValueError, match="5-way episodes need 5 classes"):
        few_shot_accuracy(np.zeros((40, 2)), np.repeat([0, 1], 20), n_way=5, k_shot=1)


def test_open_set_scores_count_rejections_as_errors_on_known_samples():
    truth = np.array([0, 1, 2, 2, -1, -1, -1, -1])
    predicted = np.array([0, -1, 2, 1, -1, -1, 0, -1])
    scores = metrics.open_set_scores(truth, predicted)
    assert scores.known_accuracy == 0.5  # 0 and the first 2 right; a rejection and a 1 wrong
    assert scores.known_rate == 0.75
    assert scores.unknown_rejection == 0.75
    with pytest.raises(ValueError, match="known and unknown"):
        metrics.open_set_scores(truth[:4], predicted[:4])


def test_oscr_is_the_area_under_correct_classification_against_false_positives():
    truth = np.array([0, 1, 2, -1, -1])
    closed = np.array([0, 1, 1, 0, 2])
    # the two correct known samples score highest: CCR reaches 2/3 before any unknown
    assert metrics.oscr(truth, closed, [5, 4, 3, 2, 1]) == pytest.approx(2 / 3)
    # the unknowns score highest: they are all accepted before any known one
    assert metrics.oscr(truth, closed, [1, 2, 3, 5, 4]) == pytest.approx(0.0)
    perfect = metrics.oscr(np.array([0, 1, -1]), np.array([0, 1, 0]), [3, 2, 1])
    assert perfect == pytest.approx(1.0)


@pytest.mark.parametrize("same", [False, True])
def test_retrieval_scores_are_pytorch_metric_learnings(rng, same):
    torch = pytest.importorskip("torch")
    pml = pytest.importorskip("pytorch_metric_learning.utils.accuracy_calculator")
    from pytorch_metric_learning.distances import LpDistance
    from pytorch_metric_learning.utils.inference import CustomKNN

    Z_ref, y_ref = rng.normal(size=(300, 8)), rng.integers(0, 6, 300)
    Z_ref[:, 0] += 1.5 * y_ref
    Z_query, y_query = (Z_ref, y_ref) if same else (Z_ref[:120] + 0.3, y_ref[:120])
    ours = metrics.retrieval_scores(
        Z_query, y_query, None if same else Z_ref, None if same else y_ref, chunk_size=37
    )
    calculator = pml.AccuracyCalculator(
        include=("precision_at_1", "r_precision", "mean_average_precision_at_r"),
        knn_func=CustomKNN(LpDistance(normalize_embeddings=False)),
    )
    t = lambda a: torch.tensor(a, dtype=torch.float64)  # noqa: E731
    theirs = calculator.get_accuracy(
        t(Z_query), torch.tensor(y_query), t(Z_ref), torch.tensor(y_ref), ref_includes_query=same
    )
    assert ours.precision_at_1 == pytest.approx(theirs["precision_at_1"], abs=1e-12)
    assert ours.r_precision == pytest.approx(theirs["r_precision"], abs=1e-12)
    assert ours.map_at_r == pytest.approx(theirs["mean_average_precision_at_r"], abs=1e-12)
    assert ours.recall_at_k[1] == ours.precision_at_1
    assert ours.recall_at_k[1] <= ours.recall_at_k[5] <= ours.recall_at_k[10]


def test_retrieval_leaves_each_query_out_of_its_own_neighbours():
    Z = np.array([[0.0], [0.1], [5.0], [5.1], [10.0]])
    y = np.array([0, 0, 1, 1, 2])
    Z_q, y_q = Z[:4], y[:4]
    scores = metrics.retrieval_scores(Z_q, y_q, k=(1,))  # itself would always be a hit
    assert scores.precision_at_1 == 1.0 and scores.map_at_r == 1.0
    shifted = metrics.retrieval_scores(Z_q, np.array([0, 1, 0, 1]), k=(1, 3))
    assert shifted.precision_at_1 == 0.0 and shifted.recall_at_k[3] == 1.0
    with pytest.raises(ValueError, match="no reference"):
        metrics.retrieval_scores(Z, y)  # class 2 has one sample: nothing to retrieve


@pytest.mark.parametrize("same", [False, True])
def test_retrieval_gives_the_same_scores_with_faiss_and_scikit_learn(rng, same):
    pytest.importorskip("faiss")
    Z_ref, y_ref = rng.normal(size=(400, 16)), rng.integers(0, 7, 400)
    Z_ref[:, :3] += 1.5 * y_ref[:, None]  # overlapping classes: imperfect scores
    Z_query, y_query = (
        (Z_ref, y_ref) if same else (Z_ref[:150] + rng.normal(size=(150, 16)), y_ref[:150])
    )
    refs = () if same else (Z_ref, y_ref)
    by = {
        backend: metrics.retrieval_scores(Z_query, y_query, *refs, chunk_size=64, backend=backend)
        for backend in ("sklearn", "faiss")
    }
    assert 0.2 < by["sklearn"].map_at_r < 0.9
    # Equal here; on another machine, references at the same distance in float32 may
    # swap places, which moves a score by at most a few queries' worth.
    faiss_, sklearn_ = by["faiss"], by["sklearn"]
    assert faiss_.map_at_r == pytest.approx(sklearn_.map_at_r, abs=0.01)
    assert faiss_.precision_at_1 == pytest.approx(sklearn_.precision_at_1, abs=0.01)
    assert faiss_.r_precision == pytest.approx(sklearn_.r_precision, abs=0.01)
    for k in (1, 5, 10):
        assert faiss_.recall_at_k[k] == pytest.approx(sklearn_.recall_at_k[k], abs=0.01)


def test_retrieval_backend_is_checked(rng):
    Z, y = rng.normal(size=(20, 2)), np.arange(20) % 2
    with pytest.raises(ValueError, match=r"backend must be one of \('auto', 'sklearn', 'faiss'\)"):
        metrics.retrieval_scores(Z, y, backend="annoy")
