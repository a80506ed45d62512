"""The ``sk-embed`` command (also ``python -m sk_embed``)."""

from __future__ import annotations

import argparse
import sys
import time


def _demo(args):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from . import EmbeddingClassifier
    from .metrics import knn_accuracy, silhouette

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=args.seed
    )
    print(f"digits: {len(X_train)} training, {len(X_test)} held-out samples, 10 classes")
    print(f"{'loss':<20} {'dim':>3} {'accuracy':>9} {'kNN acc':>8} {'silhouette':>10} {'fit s':>6}")
    for loss in args.losses:
        start = time.perf_counter()
        clf = EmbeddingClassifier(loss=loss, n_components=args.dim, random_state=args.seed)
        clf.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        Z_train, Z_test = clf.transform(X_train), clf.transform(X_test)
        print(
            f"{loss:<20} {args.dim:>3} {clf.score(X_test, y_test):>9.3f} "
            f"{knn_accuracy(Z_train, y_train, Z_test, y_test):>8.3f} "
            f"{silhouette(Z_test, y_test):>10.3f} {seconds:>6.1f}"
        )


def build_parser():
    """The command-line parser (``sk-embed --help``)."""
    parser = argparse.ArgumentParser(
        prog="sk-embed", description="Design, compare and use embedded spaces."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="fit on scikit-learn's digits and print held-out accuracy, kNN accuracy "
        "and silhouette of the embedding",
    )
    demo.add_argument(
        "--losses", nargs="+", default=["softmax"], help="techniques to fit (default: softmax)"
    )
    demo.add_argument("--dim", type=int, default=2, help="embedding dimension (default: 2)")
    demo.add_argument("--seed", type=int, default=0, help="split and training seed (default: 0)")
    demo.set_defaults(func=_demo)
    return parser


def main(argv=None):
    """Entry point of the ``sk-embed`` command."""
    args = build_parser().parse_args(argv)
    args.func(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
