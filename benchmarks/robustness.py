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

import argparse
import math
import os
import time
import warnings

import numpy as np
from _cli import add_set_option  # a sibling: the scripts run from benchmarks/
from joblib import Parallel, delayed
from sklearn.datasets import load_breast_cancer, load_digits, load_wine, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
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


def split(X, y):
    return train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)


def fit_score(method, X_train, X_test, y_train, y_test, dim, seed, params, threads):
    """One fit: accuracy, 5-NN accuracy and silhouette of the held-out embeddings."""
    import torch

    if threads:
        torch.set_num_threads(threads)
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


def run(jobs, tasks, threads):
    calls = [delayed(fit_score)(*task, threads) for task in tasks]
    return Parallel(n_jobs=jobs)(calls)


def run_tagged(args, tagged, key):
    """Run ``(tag, task)`` pairs; each row gets its tag under ``key``."""
    rows = run(args.jobs, [task for _, task in tagged], args.threads)
    for (tag, _), row in zip(tagged, rows):
        row[key] = tag
    return rows


def baselines(args):
    names = ["NCA", "LDA"] + [n for n in benchmark.BASELINES if n.startswith("UMAP")]
    if benchmark.BASELINES_SKIPPED:
        print(f"({benchmark.BASELINES_SKIPPED})")
    return names


def scalings(args, params):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = split(X, y)
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
        header = [
            "method",
            *args.scalings,
            "spread (acc)",
            "min 5-NN",
            "silhouette",
            "fit s",
            "epochs",
        ]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for method in dict.fromkeys(r["method"] for r in summary):
            cells = [s for s in summary if s["method"] == method and s["dim"] == dim]
            if not cells:
                continue
            acc = [c["accuracy"] for c in cells]
            knn = [c["knn_accuracy"] for c in cells]
            spread = (max(acc) - min(acc)) * 100 if not np.isnan(acc).any() else np.nan
            pairs = [
                f"{c['accuracy']:.3f} / {c['knn_accuracy']:.3f}".replace("nan", "–") for c in cells
            ]
            sil, fit, epochs = (
                np.mean([c[k] for c in cells]) for k in ("silhouette", "fit_seconds", "epochs")
            )
            tail = f" | {spread:.1f} | {min(knn):.3f} | {sil:.3f} | {fit:.2f} | {epochs:.0f} |"
            lines.append(f"| {method} | " + " | ".join(pairs) + tail.replace("nan", "–"))
        print("\n".join(lines), flush=True)
    unconverged = sum(r["not_converged"] for r in rows)
    print(f"\nfits that hit max_epochs: {unconverged} of {len(rows)}")
    return rows


def tabular(args, params):
    tasks = []
    for name, loader in TABULAR.items():
        X, y = loader(return_X_y=True)
        X_train, X_test, y_train, y_test = split(X, y)
        for method in args.losses + baselines(args) * args.baselines:
            if method == "LDA" and len(np.unique(y)) <= 2:
                continue  # LDA gives at most n_classes - 1 dimensions
            for seed in args.seeds:
                tasks.append((name, (method, X_train, X_test, y_train, y_test, 2, seed, params)))
    rows = run_tagged(args, tasks, "dataset")
    summary = benchmark.summarize(
        rows, ("method", "dataset"), ("accuracy", "knn_accuracy", "epochs")
    )
    print(f"\n### raw tabular features, 2-D: accuracy / 5-NN (mean of seeds {args.seeds})\n")
    lines = ["| method | " + " | ".join(TABULAR) + " |", "|---|" + "---|" * len(TABULAR)]
    for method in dict.fromkeys(r["method"] for r in summary):
        cells = {s["dataset"]: s for s in summary if s["method"] == method}
        pairs = [
            f"{cells[d]['accuracy']:.3f} / {cells[d]['knn_accuracy']:.3f}" if d in cells else "–"
            for d in TABULAR
        ]
        lines.append(f"| {method} | " + " | ".join(pairs).replace("nan", "–") + " |")
    print("\n".join(lines), flush=True)
    return rows


def sizes(args, params):
    print(
        "\n### data size: synthetic 10 classes, 16x16 images, 2-D (seed 0, mean over techniques)\n"
    )
    print("| n train | fit s | epochs | s / epoch | accuracy | 5-NN |\n|---|---|---|---|---|---|")
    rows = []
    for n_per_class in args.sizes:
        data = datasets.synthetic(
            n_classes=10, n_per_class=n_per_class, image_size=16, noise=1.0, random_state=0
        )
        tr, te = (
            data.X_train.reshape(len(data.X_train), -1),
            data.X_test.reshape(len(data.X_test), -1),
        )
        tasks = [(m, tr, te, data.y_train, data.y_test, 2, 0, params) for m in args.size_losses]
        got = run(1, tasks, None)
        mean = {k: float(np.mean([r[k] for r in got])) for k in got[0] if k not in ("method",)}
        print(
            f"| {len(tr)} | {mean['fit_seconds']:.1f} | {mean['epochs']:.0f} | "
            f"{mean['fit_seconds'] / mean['epochs']:.3f} | {mean['accuracy']:.3f} | "
            f"{mean['knn_accuracy']:.3f} |",
            flush=True,
        )
        rows += got
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
    tasks, keys = [], []
    for problem, loader in problems.items():
        X, y = loader(return_X_y=True)
        X = X * 100 + 5 if "x100" in problem else X
        X_train, X_test, y_train, y_test = split(X, y)
        for name, (standardize, prepare) in MECHANISMS.items():
            tr, te = prepare(X_train, X_test)
            for method in args.mechanism_losses:
                for seed in args.seeds:
                    p = {**params, "standardize": standardize}
                    tasks.append((method, tr, te, y_train, y_test, 2, seed, p))
                    keys.append((problem, name))
    rows = run(args.jobs, tasks, args.threads)
    for (problem, name), row in zip(keys, rows):
        row.update(problem=problem, mechanism=name)
    summary = benchmark.summarize(rows, ("mechanism", "problem"), ("accuracy", "knn_accuracy"))
    print(
        f"\n### input scaling inside the model, 2-D: mean accuracy / 5-NN over "
        f"{', '.join(args.mechanism_losses)} and seeds {args.seeds}\n"
    )
    lines = ["| mechanism | " + " | ".join(problems) + " |", "|---|" + "---|" * len(problems)]
    for name in MECHANISMS:
        cells = [s for s in summary if s["mechanism"] == name]
        pairs = [f"{c['accuracy']:.3f} / {c['knn_accuracy']:.3f}" for c in cells]
        lines.append(f"| {name} | " + " | ".join(pairs) + " |")
    print("\n".join(lines), flush=True)
    return rows


def _zoomed(images, factor):
    from scipy.ndimage import zoom

    return np.stack([zoom(image, factor, order=1) for image in images]).astype(np.float32)


#: The image sets: digits as 8x8 images, and zoomed to 28x28 (MNIST's size) by linear
#: interpolation, as real handwritten-digit images.
IMAGES = {
    "digits 8x8": lambda X: X.reshape(-1, 8, 8).astype(np.float32),
    "digits 28x28": lambda X: _zoomed(X.reshape(-1, 8, 8), 3.5),
}


def images(args, params):
    """Every technique with the cnn on images: accuracy per image set, and the worst."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = split(X, y)
    p = {"backbone": "cnn", **params}
    if args.image_max_epochs is not None:
        p.setdefault("max_epochs", args.image_max_epochs)
    sets = {name: IMAGES[name] for name in args.image_sets}
    tasks = []
    for name, make in sets.items():
        tr, te = make(X_train), make(X_test)
        for method in args.losses:
            for seed in args.seeds:
                tasks.append((name, (method, tr, te, y_train, y_test, 2, seed, p)))
    rows = run_tagged(args, tasks, "images")
    summary = benchmark.summarize(
        rows, ("method", "images"), ("accuracy", "knn_accuracy", "fit_seconds", "epochs")
    )
    print(f"\n### images, cnn, 2-D: accuracy (mean ± sd over seeds {args.seeds}); parameters {p}\n")
    lines = ["| method | " + " | ".join(sets) + " | fit s | epochs |"]
    lines.append("|---|" + "---|" * (len(sets) + 2))
    for method in args.losses:
        cells = {s["images"]: s for s in summary if s["method"] == method}
        accs = [f"{cells[n]['accuracy']:.3f} ± {cells[n]['accuracy_std']:.3f}" for n in sets]
        fit = np.mean([cells[n]["fit_seconds"] for n in sets])
        epochs = np.mean([cells[n]["epochs"] for n in sets])
        lines.append(f"| {method} | " + " | ".join(accs) + f" | {fit:.1f} | {epochs:.0f} |")
    for label, pick in (("worst", min), ("best", max)):
        cells = []
        for n in sets:
            best = pick((s for s in summary if s["images"] == n), key=lambda s: s["accuracy"])
            cells.append(f"{best['accuracy']:.3f} ({best['method']})")
        lines.append(f"| **{label}** | " + " | ".join(cells) + " | | |")
    collapsed = [r for r in rows if r["accuracy"] < 0.2]
    print("\n".join(lines))
    print(
        f"\nfits at chance (accuracy < 0.2): {len(collapsed)} of {len(rows)}"
        + "".join(f"; {r['method']} seed {r['seed']} ({r['images']})" for r in collapsed),
        flush=True,
    )
    return rows


def augment(args, params):
    """The images part with and without ``augment``: accuracy and 5-NN accuracy of every
    technique, per image set, and the best and worst technique of each."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = split(X, y)
    p = {"backbone": "cnn", **params}
    if args.image_max_epochs is not None:
        p.setdefault("max_epochs", args.image_max_epochs)
    settings = {"none": None, str(args.augment): args.augment}
    tasks = []
    for name, make in IMAGES.items():
        tr, te = make(X_train), make(X_test)
        for label, value in settings.items():
            for method in args.losses:
                for seed in args.seeds:
                    task = (method, tr, te, y_train, y_test, 2, seed, {**p, "augment": value})
                    tasks.append(((name, label), task))
    rows = run_tagged(args, tasks, "setting")
    for row in rows:
        row["images"], row["augment"] = row.pop("setting")
    summary = benchmark.summarize(
        rows, ("method", "images", "augment"), ("accuracy", "knn_accuracy", "fit_seconds")
    )
    cell = {(s["method"], s["images"], s["augment"]): s for s in summary}
    print(
        f"\n### images, cnn, 2-D, augment: accuracy / 5-NN (mean ± sd over seeds "
        f"{args.seeds}); parameters {p}\n"
    )
    columns = [(n, a) for n in IMAGES for a in settings]
    lines = ["| method | " + " | ".join(f"{n}, {a}" for n, a in columns) + " |"]
    lines.append("|---|" + "---|" * len(columns))

    def text(s):
        return (
            f"{s['accuracy']:.3f} ± {s['accuracy_std']:.3f} / "
            f"{s['knn_accuracy']:.3f} ± {s['knn_accuracy_std']:.3f}"
        )

    for method in args.losses:
        lines.append(
            f"| {method} | " + " | ".join(text(cell[(method, *c)]) for c in columns) + " |"
        )
    for label, pick in (("worst", min), ("best", max)):
        found = [
            pick((cell[(m, *c)] for m in args.losses), key=lambda s: s["knn_accuracy"])
            for c in columns
        ]
        row = " | ".join(f"{text(s)} ({s['method']})" for s in found)
        lines.append(f"| **{label} 5-NN** | {row} |")
    print("\n".join(lines))
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
    return split(X, y)


def _speed_fit(method, n, seed, params, repeats=1):
    """One seed of the speed part: our defaults and MLPClassifier's on the same split,
    one after the other (which goes first alternates with the seed). With ``repeats``
    the pair runs that many times in turn and each side keeps its fastest fit, so a
    drift of the machine's speed during one fit weighs less on the ratio."""
    X_train, X_test, y_train, y_test = _rows_split(n, seed)
    ours = EmbeddingClassifier(method, random_state=seed, **params)
    mlp = MLPClassifier(random_state=seed)
    pair = [ours, mlp] if seed % 2 == 0 else [mlp, ours]
    seconds = {id(model): math.inf for model in pair}
    for _ in range(repeats):  # the same seed: the same fit each time
        for model in pair:
            seconds[id(model)] = min(seconds[id(model)], _timed_fit(model, X_train, y_train))
    return {
        "n_train": len(y_train),
        "method": method,
        "seed": seed,
        "accuracy": ours.score(X_test, y_test),
        "mlp_accuracy": mlp.score(X_test, y_test),
        "fit_seconds": seconds[id(ours)],
        "mlp_seconds": seconds[id(mlp)],
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
    print(
        "| n train | technique | accuracy | MLPClassifier | fit s | MLPClassifier s | "
        "time ratio (min-max) | epochs | MLP iterations |\n|---|---|---|---|---|---|---|---|---|"
    )
    rows = []
    for n in args.speed_sizes:
        for method in args.speed_losses:
            got = [_speed_fit(method, n, seed, params, args.repeats) for seed in args.seeds]
            mean = {k: np.mean([g[k] for g in got]) for k in got[0] if k != "method"}
            sd = {k: np.std([g[k] for g in got]) for k in ("accuracy", "mlp_accuracy")}
            ratio = [g["fit_seconds"] / g["mlp_seconds"] for g in got]
            print(
                f"| {got[0]['n_train']} | {method} | {mean['accuracy']:.3f} ± "
                f"{sd['accuracy']:.3f} | {mean['mlp_accuracy']:.3f} ± {sd['mlp_accuracy']:.3f} | "
                f"{mean['fit_seconds']:.1f} | {mean['mlp_seconds']:.1f} | "
                f"{np.median(ratio):.2f} ({min(ratio):.2f}-{max(ratio):.2f}) | "
                f"{mean['epochs']:.0f} | {mean['mlp_iterations']:.0f} |",
                flush=True,
            )
            rows += got
    return rows


def curve(args, params):
    """Where a rows fit spends its epochs: the held-out accuracy, the training loss and
    the learning rate every 5 epochs of one fit (the first seed) at each speed size."""
    import torch
    from skorch.callbacks import Callback

    class HeldOut(Callback):
        def __init__(self, X, y):
            self.X, self.y, self.rows = torch.as_tensor(X, dtype=torch.float32), y, []

        def on_epoch_end(self, net, **kwargs):
            epoch = len(net.history)
            if epoch % 5:
                return
            net.module_.eval()
            with torch.no_grad():  # the module's class scores, as predict computes them
                scores = net.module_(self.X)[0]
            net.module_.train()
            accuracy = float((scores.argmax(1).numpy() == self.y).mean())
            lr = net.optimizer_.param_groups[0]["lr"]
            self.rows.append((epoch, accuracy, net.history[-1, "train_loss"], lr))

    seed = args.seeds[0]
    for n in args.speed_sizes:
        for method in args.speed_losses:
            X_train, X_test, y_train, y_test = _rows_split(n, seed)
            held_out = HeldOut(X_test, np.searchsorted(np.unique(y_train), y_test))
            model = EmbeddingClassifier(
                method, random_state=seed, callbacks=[("held_out", held_out)], **params
            ).fit(X_train, y_train)
            print(
                f"\n### rows: {method}, {len(y_train)} training rows, seed {seed}: every 5 "
                f"epochs of {model.n_iter_} (held-out accuracy {model.score(X_test, y_test):.3f})"
                "\n\n| epoch | held-out accuracy | training loss | lr |\n|---|---|---|---|"
            )
            for epoch, accuracy, loss, lr in held_out.rows:
                print(f"| {epoch} | {accuracy:.3f} | {loss:.4f} | {lr:g} |", flush=True)


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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
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
        "--image-sets", nargs="+", default=list(IMAGES), choices=list(IMAGES),
        help="the image sets of the images part",
    )  # fmt: skip
    parser.add_argument(
        "--augment", default="shift", help="the augmentation the augment part compares"
    )
    parser.add_argument("--no-baselines", dest="baselines", action="store_false")
    parser.add_argument("--jobs", type=int, default=1, help="parallel fits (then 1 thread each)")
    add_set_option(parser)
    args = parser.parse_args()
    args.threads = 1 if args.jobs > 1 else None
    if args.image_max_epochs is not None and args.image_max_epochs <= 0:
        args.image_max_epochs = None
    params = dict(args.set)
    print(f"estimator parameters: defaults {params or ''}; {os.cpu_count()} cores")
    for part in args.parts:
        PARTS[part](args, params)


if __name__ == "__main__":
    main()
