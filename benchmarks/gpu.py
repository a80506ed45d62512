"""Training throughput on a GPU against a bare PyTorch loop (docs/performance.md).

For each backbone (the cnn on 1x28x28 images; the resnet18 on 3x32x32 on a
GPU), each precision (float32 and mixed: "16-mixed" and "bf16-mixed" on CUDA,
"bf16-mixed" on a CPU) and each input (an in-memory float32 array, and a torch
``Dataset`` of uint8 images read with ``iterator_train__num_workers``), it reports the
images per second of ``EmbeddingClassifier.fit`` (softmax, 10 classes) and of a bare
PyTorch loop that trains the same module with the same optimizer, batch size and
precision on a float32 tensor already on the device, measured in the same run. The
first epoch of each (warm-up: cuDNN autotuning, allocator) is left out; the ratio is the
loop's throughput over ``fit``'s (1.00: no overhead).

On a machine without CUDA it runs on the CPU with small sizes, as a smoke test.

Usage: python benchmarks/gpu.py [--images 20000] [--epochs 3] [--batch-size 256]
       [--workers 4]
"""

import os
import time

import _harness as h  # a sibling: the scripts run from benchmarks/
import numpy as np
import torch
import torch.nn.functional as F

from sk_embed import EmbeddingClassifier
from sk_embed.backbones import build_backbone


class Images(torch.utils.data.Dataset):
    """uint8 images and labels, as a torchvision dataset with PILToTensor gives."""

    def __init__(self, X, y):
        self.X, self.y = torch.as_tensor(X), torch.as_tensor(y)

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], int(self.y[i])


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bare_loop(backbone, X, y, *, epochs, batch_size, precision, device):
    """What a PyTorch user writes; returns the images per second after the first epoch."""
    torch.manual_seed(0)
    encoder = build_backbone(backbone, tuple(X.shape[1:]), 2, {}).to(device)
    head = torch.nn.Linear(2, 10).to(device)
    params = [*encoder.parameters(), *head.parameters()]
    optimizer = torch.optim.Adam(params, lr=1e-3, fused=True)  # as fit's
    dtype = {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}.get(precision)
    scaler = torch.amp.GradScaler("cuda") if precision == "16-mixed" else None
    X = torch.as_tensor(X, dtype=torch.float32, device=device)
    y = torch.as_tensor(y, device=device)
    times = []
    for _ in range(epochs):
        _sync(device)
        start = time.perf_counter()
        order = torch.randperm(len(X), device=device)
        for i in range(0, len(X), batch_size):
            idx = order[i : i + batch_size]
            optimizer.zero_grad()
            with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                z = encoder(X[idx])
            loss = F.cross_entropy(head(z.float()), y[idx])
            if scaler is None:
                loss.backward()
                optimizer.step()
            else:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            loss.item()  # logged, as every loop does
        _sync(device)
        times.append(time.perf_counter() - start)
    return len(X) / np.mean(times[1:])


def ours(backbone, data, *, epochs, batch_size, precision, device, workers):
    """``fit``'s images per second from its per-epoch durations, after the first."""
    kw = dict(
        backbone=backbone,
        max_epochs=epochs,
        tol=None,
        batch_size=batch_size,
        precision=precision,
        device=str(device),
        random_state=0,
    )
    if isinstance(data[0], torch.utils.data.Dataset):
        kw.update(
            iterator_train__num_workers=workers, iterator_train__persistent_workers=workers > 0
        )
        kw.update(iterator_train__pin_memory=device.type == "cuda")
    clf = EmbeddingClassifier(**kw)
    clf.fit(*data)
    durations = [row["dur"] for row in clf.history_][1:]
    return len(data[1]) / np.mean(durations)


def main():
    parser = h.parser(__doc__, seeds=None, jobs=None, params=False)
    parser.add_argument("--images", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    args.workers = min(args.workers, max(1, (os.cpu_count() or 2) - 1))  # one core trains
    device = torch.device("cuda" if cuda else "cpu")
    n = args.images or (20_000 if cuda else 512)
    name = torch.cuda.get_device_name(device) if cuda else "CPU (smoke test: small sizes)"
    print(f"device: {name}; {n} images, batch {args.batch_size}, {args.epochs} epochs\n")
    backbones = {"cnn": (1, 28, 28)}
    if cuda:
        backbones["resnet18"] = (3, 32, 32)
    else:  # about 0.1 s an image on one core: too slow for a smoke test
        print("(resnet18 left out on the CPU: benchmarks/resnet18_epoch.py times it)\n")
    precisions = ["32", "16-mixed", "bf16-mixed"] if cuda else ["32", "bf16-mixed"]
    rng = np.random.default_rng(0)
    rows = []
    for backbone, shape in backbones.items():
        pixels = rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)
        y = rng.integers(0, 10, size=n)
        for precision in precisions:
            common = dict(epochs=args.epochs, batch_size=args.batch_size, precision=precision)
            bare = bare_loop(backbone, pixels, y, device=device, **common)
            inputs = {
                "float32 array": (pixels.astype(np.float32), y),
                f"Dataset, {args.workers} workers": (Images(pixels, y), y),
            }
            for label, data in inputs.items():
                fast = ours(backbone, data, device=device, workers=args.workers, **common)
                rows.append(
                    {
                        "backbone": backbone,
                        "precision": precision,
                        "input": label,
                        "fit (images/s)": f"{fast:,.0f}",
                        "bare loop (images/s)": f"{bare:,.0f}",
                        "ratio": bare / fast,
                    }
                )
    print(h.table(rows, digits=2))


if __name__ == "__main__":
    main()
