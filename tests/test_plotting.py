"""Tests of sk_embed/plotting.py."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from sk_embed import EmbeddingClassifier  # noqa: E402
from sk_embed.plotting import plot_comparison, plot_embedding  # noqa: E402


def _not_blank(path):
    image = plt.imread(path)
    return image.std() > 0.01


@pytest.mark.parametrize(
    "loss,dim", [("softmax", 2), ("cosface", 2), ("soc", 2), ("triplet", 3), ("center", 1)]
)
def test_plot_embedding(small, tmp_path, loss, dim):
    X, y = small
    clf = EmbeddingClassifier(loss, n_components=dim, max_epochs=2, tol=None, random_state=0).fit(
        X, y
    )
    ax = plot_embedding(clf, X, y, resolution=40)
    if dim == 2 and loss == "cosface":  # the unit circle is drawn
        assert any(len(line.get_xdata()) == 361 for line in ax.get_lines())
    ax.figure.savefig(tmp_path / "e.png")
    assert _not_blank(tmp_path / "e.png")
    plt.close("all")


def test_plot_comparison_grid(small, tmp_path):
    X, y = small
    panels = {
        (ds, loss): (
            EmbeddingClassifier(loss, max_epochs=1, tol=None, random_state=0).fit(X, y),
            X,
            y,
        )
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


def test_a_plain_transformer_is_drawn_with_centers_from_its_samples(small):
    from sklearn.decomposition import PCA

    X, y = small
    pca = PCA(2).fit(X)
    ax = plot_embedding(pca, X, y)
    assert ax.get_title() == "PCA"
    centers = ax.collections[-1].get_offsets()  # the black-edged centers, drawn last
    Z = pca.transform(X)
    np.testing.assert_allclose(centers, [Z[y == c].mean(0) for c in np.unique(y)], rtol=1e-6)
    clf = EmbeddingClassifier(max_epochs=2, tol=None, random_state=0).fit(X, y)
    fig = plot_comparison({("digits", "PCA"): (pca, X, y), ("digits", "softmax"): (clf, X, y)})
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == [str(c) for c in np.unique(y)]


def test_3d_panels_are_larger_with_few_ticks_that_do_not_overlap(small):
    from sklearn.decomposition import PCA

    X, y = small
    panels = {("d", f"pca{i}"): (PCA(3).fit(X * (10**i)), X * (10**i), y) for i in range(3)}
    fig = plot_comparison(panels)
    # 4-inch panels when one is 3-D, and half an inch for the legend below one row
    assert tuple(fig.get_size_inches()) == (12.0, 4.5)
    fig.canvas.draw()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
            ticks = [t for t in axis.get_ticklocs() if axis.get_view_interval()[0] <= t]
            assert 2 <= len(ticks) <= 4
    flat = plot_comparison({("d", "pca"): (PCA(2).fit(X), X, y)})
    assert tuple(flat.get_size_inches()) == (3.0, 3.5)
    assert tuple(plot_comparison(panels, panel_size=2.0).get_size_inches()) == (6.0, 2.5)
    plt.close("all")


def test_comparison_text_stays_readable_at_a_column_width(small):
    """Shrunk to a 7.5-inch column, every title, axis name and legend entry of a
    comparison figure is at least 9 pt (tick labels at least 6.5 pt), however many
    panels it has; the legend sits beside a grid and below a single row."""
    from sklearn.decomposition import PCA

    X, y = small
    for n, ncols in ((1, None), (4, None), (8, 4), (6, 3)):
        panels = {("d", f"pca{i}"): (PCA(2).fit(X), X, y) for i in range(n)}
        fig = plot_comparison(panels, ncols=ncols)
        shrink = min(1.0, 7.5 / fig.get_size_inches()[0])
        for ax in fig.axes:
            assert ax.title.get_fontsize() * shrink >= 9.0
            assert ax.xaxis.label.get_fontsize() * shrink >= 0.85 * 9.0 - 1e-9
            assert min(t.get_fontsize() for t in ax.get_xticklabels()) * shrink >= 6.5
        legend = fig.legends[0]
        assert min(t.get_fontsize() for t in legend.get_texts()) * shrink >= 0.85 * 9.0 - 1e-9
        fig.canvas.draw()
        box = legend.get_window_extent()
        panels_box = [ax.get_window_extent() for ax in fig.axes]
        if len(fig.axes) <= (ncols or 4):  # one row: the legend below it
            assert box.y1 <= min(b.y0 for b in panels_box)
        else:  # beside the grid
            assert box.x0 >= max(b.x1 for b in panels_box)
        plt.close("all")
