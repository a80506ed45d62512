"""Forward + backward time of each loss against pytorch-metric-learning's, same inputs.

Batch 256, embedding dimension 128, 100 classes (the issue's setting). Ours is the
technique's head and loss (the head holds the class weights, as PML's loss does); the
reference is PML's loss with the same weights. Contrastive and triplet (batch-hard
mining against PML's TripletMarginLoss + BatchHardMiner; all triplets against
TripletMarginLoss without a miner) run in PML's configuration:
unit embeddings, Euclidean distances, averages over non-zero terms. Both compute the
loss and the gradients of the embeddings and the weights. Runs alternate; the median
ratio ours / PML is printed (below 1 = faster).

Usage: python benchmarks/loss_speed.py [--device cpu] [--repeats 15] [--iters 50]
"""

import math
import time
import warnings

import _harness as h  # a sibling: the scripts run from benchmarks/
import numpy as np
import torch
from pytorch_metric_learning import losses as pml
from pytorch_metric_learning import miners as pml_miners

from sk_embed.losses import get_technique


def _angular(name, ref_cls, **ref_kwargs):
    def make(n_classes, dim, device):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            head, loss = get_technique(name).build(dim, n_classes, params=PARAMS[name])
        ref = ref_cls(n_classes, dim, **ref_kwargs)
        with torch.no_grad():
            ref.W.copy_(head.weight.detach().t())
        head, loss, ref = head.to(device), loss.to(device), ref.to(device)

        def ours(z, y):
            return loss(head(z), z, y, head)

        return ours, ref, list(head.parameters()) + [ref.W]

    return make


PARAMS = {
    "cosface": {"scale": 64.0, "margin": 0.35},
    "arcface": {"scale": 64.0, "margin": 0.5},
    "sphereface": {"margin": 4, "lambda_base": 0.0, "lambda_min": 0.0},
}


def _pair(name, ref_factory, **params):
    def make(n_classes, dim, device):
        head, loss = get_technique(name).build(dim, n_classes, params=params)
        ref = ref_factory()
        head, loss = head.to(device), loss.to(device)

        def ours(z, y):
            return loss(head(z), z, y, head)

        return ours, ref, []

    return make


def _batch_hard_triplet():
    loss, miner = pml.TripletMarginLoss(margin=0.2), pml_miners.BatchHardMiner()

    def ref(z, y):
        return loss(z, y, miner(z, y))

    return ref


# PML's configuration: unit embeddings, Euclidean distances, average over non-zero terms
_PML_PAIRS = {"squared": False, "normalize": True, "average": "nonzero"}

CASES = {
    "cosface": _angular("cosface", pml.CosFaceLoss, margin=0.35, scale=64),
    "arcface": _angular("arcface", pml.ArcFaceLoss, margin=math.degrees(0.5), scale=64),
    "sphereface": _angular("sphereface", pml.SphereFaceLoss, margin=4, scale=1),
    "contrastive": _pair(
        "contrastive",
        lambda: pml.ContrastiveLoss(pos_margin=0, neg_margin=1),
        margin=1.0,
        **_PML_PAIRS,
    ),
    "triplet (batch_hard)": _pair(
        "triplet", _batch_hard_triplet, margin=0.2, mining="batch_hard", **_PML_PAIRS
    ),
    "triplet (all)": _pair(
        "triplet",
        lambda: pml.TripletMarginLoss(margin=0.2),
        margin=0.2,
        mining="all",
        **_PML_PAIRS,
    ),
}


def _time(fn, z, y, params, iters, device):
    def sync():
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    sync()
    start = time.perf_counter()
    for _ in range(iters):
        for p in params:
            p.grad = None
        z.grad = None
        fn(z, y).backward()
    sync()
    return (time.perf_counter() - start) / iters


def main():
    parser = h.parser(__doc__, seeds=None, jobs=None, params=False)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--iters", type=int, default=50)
    parser.add_argument("--losses", nargs="+", default=list(CASES))
    args = parser.parse_args()

    torch.manual_seed(0)
    z = torch.randn(args.batch, args.dim, device=args.device, requires_grad=True)
    y = torch.randint(0, args.classes, (args.batch,), device=args.device)
    print(
        f"torch {torch.__version__}, device {args.device}, batch {args.batch}, "
        f"dim {args.dim}, {args.classes} classes, {args.repeats} x {args.iters} iterations\n"
    )
    rows = []
    for name in args.losses:
        ours, ref, params = CASES[name](args.classes, args.dim, args.device)
        a, b = ours(z, y).item(), ref(z, y).item()
        assert abs(a - b) <= 1e-4 * max(1.0, abs(b)), (name, a, b)  # same loss, or no timing
        for fn in (ours, ref):  # warm-up
            _time(fn, z, y, params, 3, args.device)
        calls = {
            who: lambda i, fn=fn, p=params: _time(fn, z, y, p, args.iters, args.device)
            for who, fn in (("ours", ours), ("PML", ref))
        }
        times = h.alternate(calls, args.repeats, own_time=True)
        median = times.median()
        rows.append(
            {
                "loss": name,
                "ours ms": 1e3 * median["ours"],
                "PML ms": 1e3 * median["PML"],
                "ours/PML": f"{np.median(times.ratios('ours', 'PML')):.2f}",
            }
        )
    print(h.table(rows))


if __name__ == "__main__":
    main()
