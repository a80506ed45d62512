"""Figures of embedded spaces (matplotlib), from the public estimator surface only."""

from __future__ import annotations

import numpy as np


def _plt():
    # Imported on use: matplotlib picks a non-interactive backend where there is no
    # display, and importing sk_embed stays cheap.
    import matplotlib.pyplot as plt

    return plt


def _colors(n):
    plt = _plt()
    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20")
    return [cmap(i % cmap.N) for i in range(n)]


def plot_embedding(
    estimator,
    X,
    y,
    *,
    ax=None,
    title=None,
    regions=True,
    resolution=200,
    max_points=3000,
    random_state=0,
    fontsize=None,
):
    """Draw the embedded space of a fitted ``EmbeddingClassifier``, or of any fitted
    transformer (PCA, NCA, UMAP, ...).

    2-D: samples coloured by class, the class centers (black-edged), the decision
    regions in the background, the unit circle when the embedding lies on it (angular
    techniques), and density contours for techniques whose scores are log-densities
    (``soc``). 3-D: a 3-D scatter with the centers. 1-D: the embedding against the class.
    For a transformer without class centers, the centers are the mean embedding of each
    class among the drawn samples, and there are no regions or contours.

    Parameters
    ----------
    estimator : fitted EmbeddingClassifier or transformer (or a Pipeline ending in one)
        What maps ``X`` to the space to draw: its ``transform``, and for an
        ``EmbeddingClassifier`` its class centers, regions and densities.
    X : array-like of shape (n_samples, ...)
        The samples to draw, in the estimator's input (e.g. held-out samples).
    y : array-like of shape (n_samples,)
        Their labels, which colour the points.
    ax : matplotlib Axes, optional
        Where to draw (a 3-D one for 3-D embeddings); a new figure's when None.
    title : str, optional
        The panel's title; none when None.
    regions : bool, default=True
        Shade the decision regions (2-D).
    resolution : int, default=200
        Grid points per axis for regions and contours.
    max_points : int, default=3000
        Draw a random subset of at most this many samples.
    random_state : int, default=0
        Seeds the subset and the 1-D jitter.
    fontsize : float, optional
        Points of the title (default: matplotlib's ``font.size``); axis names and tick
        labels are a little smaller.

    Returns
    -------
    ax : matplotlib Axes
    """
    plt = _plt()
    fontsize = plt.rcParams["font.size"] if fontsize is None else fontsize
    clf = estimator[-1] if hasattr(estimator, "steps") else estimator
    y = np.asarray(y)
    Z = np.asarray(estimator.transform(X))
    if len(Z) > max_points:
        keep = np.random.default_rng(random_state).choice(len(Z), max_points, replace=False)
        Z, y = Z[keep], y[keep]
    own = hasattr(clf, "class_centers_")  # an EmbeddingClassifier: its classes and centers
    classes = clf.classes_ if own else np.unique(y)
    colors = _colors(len(classes))
    index = {c: i for i, c in enumerate(classes.tolist())}
    point_colors = [colors[index[c]] if c in index else (0.5, 0.5, 0.5, 1) for c in y.tolist()]
    centers = (
        np.asarray(clf.class_centers_) if own else np.stack([Z[y == c].mean(0) for c in classes])
    )
    regions = regions and own
    dim = Z.shape[1]
    if ax is None:
        fig = plt.figure(figsize=(5, 5))
        ax = fig.add_subplot(projection="3d" if dim == 3 else None)
    if dim == 1:
        jitter = np.random.default_rng(random_state).uniform(-0.3, 0.3, len(Z))
        ax.scatter(
            Z[:, 0], [index.get(c, -1) + j for c, j in zip(y.tolist(), jitter)], c=point_colors, s=6
        )
        ax.set_yticks(range(len(classes)), [str(c) for c in classes])
    elif dim == 3:
        ax.scatter(Z[:, 0], Z[:, 1], Z[:, 2], c=point_colors, s=6, alpha=0.6, depthshade=False)
        ax.scatter(*centers.T, c=colors, s=70, edgecolors="k", linewidths=1.2, depthshade=False)
        ax.set_box_aspect(None, zoom=0.8)  # room for the axis names inside the panel
    else:
        Z2 = Z[:, :2]
        lo, hi = np.r_[Z2, centers[:, :2]].min(0), np.r_[Z2, centers[:, :2]].max(0)
        pad = 0.08 * (hi - lo) + 1e-6
        lo, hi = lo - pad, hi + pad
        densities = own and clf.scores_are_log_densities_
        if dim == 2 and (regions or densities):
            gx, gy = np.meshgrid(
                np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
            )
            scores = clf.score_embedding(np.c_[gx.ravel(), gy.ravel()])
            if regions:
                region = scores.argmax(1).reshape(gx.shape)
                ax.contourf(
                    gx,
                    gy,
                    region,
                    levels=np.arange(len(classes) + 1) - 0.5,
                    colors=colors,
                    alpha=0.15,
                )
            if densities:
                top = scores.max(1, keepdims=True)
                mixture = (top + np.log(np.exp(scores - top).sum(1, keepdims=True))).ravel()
                ax.contour(
                    gx,
                    gy,
                    mixture.reshape(gx.shape),
                    levels=8,
                    colors="k",
                    linewidths=0.5,
                    alpha=0.5,
                )
        norms = np.linalg.norm(Z, axis=1)
        if dim == 2 and np.allclose(norms, 1.0, atol=1e-3):
            t = np.linspace(0, 2 * np.pi, 361)
            ax.plot(np.cos(t), np.sin(t), color="k", lw=0.8, alpha=0.6)
            ax.set_aspect("equal")
        ax.scatter(Z2[:, 0], Z2[:, 1], c=point_colors, s=5, alpha=0.7)
        ax.scatter(
            centers[:, 0], centers[:, 1], c=colors, s=80, edgecolors="k", linewidths=1.5, zorder=3
        )
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
    ax.set_title(
        title if title is not None else getattr(clf, "loss", type(clf).__name__),
        fontsize=fontsize,
        y=0.93 if dim == 3 else None,  # down to the shrunk 3-D box
    )
    ax.tick_params(labelsize=0.75 * fontsize)
    if dim > 1:  # an embedding's units mean little: three ticks a side say its scale
        for axis in (ax.xaxis, ax.yaxis, getattr(ax, "zaxis", None))[:dim]:
            axis.set_major_locator(plt.MaxNLocator(3))
    axes = ("z1", "z2", "z3")[:dim] if dim > 1 else ("z", "class")
    for setter, label in zip((ax.set_xlabel, ax.set_ylabel, getattr(ax, "set_zlabel", None)), axes):
        # a 3-D axis name sits beyond its tick labels only when pushed out with the type
        setter(label, fontsize=0.85 * fontsize, labelpad=0.3 * fontsize if dim == 3 else 1)
    return ax


#: Width (inches) of a documentation column or a journal's single column: the text of a
#: comparison figure is sized to stay at least 9 pt when the figure is shrunk to it.
_COLUMN_WIDTH = 7.5


def plot_comparison(panels, *, ncols=None, panel_size=None, **kwargs):
    """A grid of embedded spaces, like the overview figure of Scholl 2024.

    Parameters
    ----------
    panels : dict
        ``{(row, column): (estimator, X, y)}``, e.g. rows = datasets, columns =
        techniques (or baseline transformers); the labels become the panel titles. One
        legend maps the classes of all panels to their colours.
    ncols : int, optional
        Panels per line. Default: one line per row label, or lines of 4 when there is a
        single row label (one dataset).
    panel_size : float, optional
        Inches per panel. Default: 3.0, or 4.0 when a panel is 3-D (a 3-D panel needs
        the room for its three axes).
    **kwargs
        Passed to :func:`plot_embedding`. Its ``fontsize`` defaults here to what stays
        at least 9 pt when the figure is shrunk to a 7.5-inch column.

    Returns
    -------
    fig : matplotlib Figure
    """
    plt = _plt()
    rows = list(dict.fromkeys(r for r, _ in panels))
    cols = list(dict.fromkeys(c for _, c in panels))
    if ncols is None:
        ncols = len(cols) if len(rows) > 1 else min(len(cols), 4)
    slots = {key: rows.index(key[0]) * len(cols) + cols.index(key[1]) for key in panels}
    if len(rows) == 1 or ncols != len(cols):  # fill the grid line by line
        slots = {key: i for i, key in enumerate(sorted(panels, key=slots.get))}
    nrows = -(-(max(slots.values()) + 1) // ncols)
    dims = {key: np.asarray(est.transform(X[:2])).shape[1] for key, (est, X, _) in panels.items()}
    if panel_size is None:
        panel_size = 4.0 if 3 in dims.values() else 3.0
    # One line of panels is not tall enough for the legend beside it: it goes below.
    below = nrows == 1
    width = panel_size * ncols + (0 if below else 1.0)
    height = panel_size * nrows + (0.5 if below else 0)
    kwargs.setdefault("fontsize", 9.0 * max(1.0, width / _COLUMN_WIDTH))
    fig = plt.figure(figsize=(width, height), layout="constrained")
    for key, (estimator, X, y) in panels.items():
        projection = "3d" if dims[key] == 3 else None
        ax = fig.add_subplot(nrows, ncols, slots[key] + 1, projection=projection)
        plot_embedding(estimator, X, y, ax=ax, title=f"{key[1]} ({key[0]})", **kwargs)
    classes = np.unique(np.concatenate([np.asarray(y) for _, _, y in panels.values()]))
    colors = _colors(len(classes))
    handles = [
        plt.Line2D([], [], ls="", marker="o", color=colors[i], label=str(c))
        for i, c in enumerate(classes.tolist())
    ]
    fig.legend(
        handles=handles,
        title="class",
        loc="outside lower center" if below else "outside right center",
        ncols=min(len(classes), 10) if below else 1,
        fontsize=0.85 * kwargs["fontsize"],
        title_fontsize=0.85 * kwargs["fontsize"],
    )
    return fig


__all__ = ["plot_comparison", "plot_embedding"]
