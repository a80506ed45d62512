"""metrics, datasets, plotting, benchmark and the sk-embed command."""

import gzip
import json
import pickle
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.metrics import silhouette_score  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402

from sk_embed import EmbeddingClassifier, benchmark, datasets  # noqa: E402
from sk_embed.__main__ import main  # noqa: E402
from sk_embed.metrics import (  # noqa: E402
    compactness_ratio,
    embedding_scores,
    knn_accuracy,
    map_at_r,
    precision_at_1,
    silhouette,
)
from sk_embed.plotting import plot_comparison, plot_embedding  # noqa: E402

# -- metrics -------------------------------------------------------------------------------


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
    clf = EmbeddingClassifier(max_epochs=3, random_state=0).fit(X[:200], y[:200])
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


# -- datasets --------------------------------------------------------------------------------


def test_digits_and_synthetic():
    d = datasets.digits()
    assert d.X_train.shape == (1257, 1, 8, 8) and d.X_test.shape == (540, 1, 8, 8)
    assert d.image_shape == (1, 8, 8) and d.X_train.max() == 16
    s = datasets.synthetic(n_classes=3, n_per_class=20)
    assert s.X_train.shape == (42, 1, 8, 8) and set(s.y_train) == {0, 1, 2}
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'"):
        datasets.load("imagenet")


def _write_idx(path, array, gz):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if gz:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


@pytest.mark.parametrize("loader", ["mnist", "fashion_mnist"])
@pytest.mark.parametrize("gz", [False, True])
def test_mnist_format_from_local_files(tmp_path, rng, loader, gz):
    raw = tmp_path / "MNIST" / "raw"  # torchvision's layout; any folder below works
    raw.mkdir(parents=True)
    images = rng.integers(0, 256, (6, 28, 28))
    labels = np.array([3, 1, 4, 1, 5, 9])
    for prefix, part in (("train", slice(0, 4)), ("t10k", slice(4, 6))):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", images[part], gz)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels[part], gz)
    d = datasets.load(loader, data_dir=tmp_path)
    assert d.X_train.shape == (4, 1, 28, 28) and d.X_test.shape == (2, 1, 28, 28)
    np.testing.assert_allclose(d.X_train[:, 0], images[:4] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(d.y_test, [5, 9])


def test_cifar10_format_from_local_files(tmp_path, rng):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (2, 3072), dtype=np.uint8)
        batches[name] = data
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": data, b"labels": [1, 7]}, f)
    d = datasets.cifar10(data_dir=tmp_path)
    assert d.X_train.shape == (10, 3, 32, 32) and d.X_test.shape == (2, 3, 32, 32)
    np.testing.assert_allclose(
        d.X_test[0], batches["test_batch"][0].reshape(3, 32, 32) / 255.0, rtol=1e-6
    )
    np.testing.assert_array_equal(d.y_train[:2], [1, 7])


def test_missing_files_name_the_files_and_the_extra(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"train-images-idx3-ubyte.*sk-embed\[vision\]"):
        datasets.mnist(data_dir=tmp_path)


def test_download_without_torchvision_names_the_extra(tmp_path):
    try:
        import torchvision  # noqa: F401
    except Exception:
        with pytest.raises(ImportError, match=r"sk-embed\[vision\]"):
            datasets.cifar10(data_dir=tmp_path, download=True)
    else:
        pytest.skip("torchvision imports here; downloading needs the network")


# -- plotting --------------------------------------------------------------------------------


def _not_blank(path):
    image = plt.imread(path)
    return image.std() > 0.01


@pytest.mark.parametrize(
    "loss,dim", [("softmax", 2), ("cosface", 2), ("soc", 2), ("triplet", 3), ("center", 1)]
)
def test_plot_embedding(small, tmp_path, loss, dim):
    X, y = small
    clf = EmbeddingClassifier(loss, n_components=dim, max_epochs=2, random_state=0).fit(X, y)
    ax = plot_embedding(clf, X, y, resolution=40)
    if dim == 2 and loss == "cosface":  # the unit circle is drawn
        assert any(len(line.get_xdata()) == 361 for line in ax.get_lines())
    ax.figure.savefig(tmp_path / "e.png")
    assert _not_blank(tmp_path / "e.png")
    plt.close("all")


def test_plot_comparison_grid(small, tmp_path):
    X, y = small
    panels = {
        (ds, loss): (EmbeddingClassifier(loss, max_epochs=1, random_state=0).fit(X, y), X, y)
        for ds in ("a", "b")
        for loss in ("softmax", "regression")
    }
    fig = plot_comparison(panels, resolution=30)
    assert len(fig.axes) == 4
    assert [ax.get_title() for ax in fig.axes] == [
        "softmax (a)",
        "regression (a)",
        "softmax (b)",
        "regression (b)",
    ]
    plt.close("all")


# -- benchmark and command -----------------------------------------------------------------


def test_benchmark_run_rows_with_baselines():
    data = datasets.synthetic(n_classes=3, n_per_class=40)
    rows = benchmark.run([data], losses=["softmax"], dims=[2], seeds=[0, 1], max_epochs=2)
    methods = [(r["method"], r["seed"]) for r in rows]
    assert methods == [
        ("softmax", 0),
        ("PCA", 0),
        ("LDA", 0),
        ("NCA", 0),
        ("softmax", 1),
        ("PCA", 1),
        ("LDA", 1),
        ("NCA", 1),
    ]
    for row in rows:
        assert set(row) == set(benchmark.COLUMNS)
        assert row["fit_seconds"] > 0 and 0 <= row["knn_accuracy"] <= 1
    assert np.isnan(rows[1]["accuracy"])  # PCA does not classify
    assert "| synthetic | softmax | technique | 2 | 0 |" in benchmark.to_markdown(rows)


def test_command_end_to_end(tmp_path, capsys):
    out = tmp_path / "bench"
    main(
        [
            "bench",
            "--dataset",
            "digits",
            "--losses",
            "softmax",
            "cosface",
            "--dims",
            "2",
            "--max-epochs",
            "2",
            "--no-baselines",
            "--quiet",
            "--out",
            str(out),
            "--dpi",
            "40",
        ]
    )
    for name in ("results.csv", "results.json", "results.md", "comparison_2d.png"):
        assert (out / name).stat().st_size > 0, name
    rows = json.loads((out / "results.json").read_text())
    assert [r["method"] for r in rows] == ["softmax", "cosface"]
    assert (out / "results.csv").read_text().splitlines()[0].startswith("dataset,method,kind")
    assert "![comparison_2d.png](comparison_2d.png)" in (out / "results.md").read_text()
    assert _not_blank(out / "comparison_2d.png")
    assert "| digits | cosface |" in capsys.readouterr().out


def test_help_explains_every_option():
    result = subprocess.run(
        [sys.executable, "-m", "sk_embed", "bench", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for option in (
        "--dataset",
        "--losses",
        "--dims",
        "--seeds",
        "--max-epochs",
        "--backbone",
        "--no-baselines",
        "--data-dir",
        "--out",
        "--dpi",
        "--quiet",
    ):
        assert option in result.stdout
