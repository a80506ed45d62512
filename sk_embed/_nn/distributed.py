"""Data-parallel training over ``torch.distributed``: every process of a launcher
(``torchrun``, ``accelerate launch``, :func:`notebook_launcher`) trains one model.

Under a launcher the user's script runs unchanged in each process. A fit then:

- joins the launcher's process group (or starts it from ``RANK`` / ``WORLD_SIZE`` /
  ``LOCAL_RANK``: gloo on CPUs, NCCL on CUDA, each rank on the GPU ``LOCAL_RANK`` names),
  and trains on a process group of its own whose timeout is short
  (``SK_EMBED_DIST_TIMEOUT`` seconds, 60 by default);
- splits each global batch of ``batch_size`` samples over the ranks, from one shuffling
  order that every rank draws alike, so the ranks see the batches one process would;
- wraps the module in ``DistributedDataParallel`` (``SyncBatchNorm`` on GPUs), gathers the
  embeddings and scores of the global batch and computes the technique's loss over it on
  every rank, the local rows carrying the gradient (as pytorch-metric-learning's
  ``DistributedLossWrapper`` does): pairs, triplets, miners and class statistics then see
  the batch one process would, and the gradient DDP averages is the single-process one;
- takes every decision (stopping, the schedule, the validation score, divergence) on
  values all ranks agree on, reduces the input standardization's statistics over the
  ranks' shares of the data, and ends with one state broadcast from rank 0.

A failure on one rank ends every rank: the failing rank writes its error to the launcher's
store and closes the training group, which wakes the others at their next exchange; they
raise that error.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import hashlib
import importlib
import inspect
import math
import multiprocessing
import os
import pickle
import queue
import socket
import time
import traceback

import torch
import torch.distributed as dist
from torch import nn

from .._random import FitGenerators, fit_draws, generator, layer_draws
from ..augment import AugmentedBatches
from .data import Batch, TensorBatches, TensorDataset

#: The environment variable that sets the training group's timeout, in seconds: how long
#: a rank waits for the others at one exchange before it gives up.
TIMEOUT_VARIABLE = "SK_EMBED_DIST_TIMEOUT"
_DEFAULT_TIMEOUT = 60.0
# How long a rank woken by a closed connection looks for the failing rank's error.
_ERROR_WAIT = 5.0
# How often a rank waiting for an exchange looks whether another one failed (seconds).
_POLL = datetime.timedelta(seconds=0.2)
# How long the ranks wait for rank 0 to write a file at save.
_SAVE_WAIT = 600.0

# The data-parallel call in progress in this thread (a fit of the estimator), if any.
_RUN = contextvars.ContextVar("sk_embed_data_parallel", default=None)
# The training group of each backend, made at the first fit and kept for the next.
_GROUPS = {}
# Calls and saves so far in this process: the same count on every rank, so the store's
# keys of one call match across ranks.
_COUNTS = {"call": 0, "save": {}}


def timeout():
    """The training group's timeout (``SK_EMBED_DIST_TIMEOUT``, default 60 s).

    Returns
    -------
    datetime.timedelta
    """
    return datetime.timedelta(seconds=float(os.environ.get(TIMEOUT_VARIABLE, _DEFAULT_TIMEOUT)))


def launched():
    """Whether this process is one of several of a torch.distributed run: a process
    group of more than one rank is initialized, or the launcher's ``WORLD_SIZE`` says so.

    Returns
    -------
    bool
    """
    if not dist.is_available():
        return False
    if dist.is_initialized():
        return dist.get_world_size() > 1
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def _rank():
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return int(os.environ.get("RANK", "0"))


def _store():
    """The launcher's key-value store (torchrun's, or the one rank 0 serves), or None."""
    try:
        return dist.distributed_c10d._get_default_store()
    except Exception:  # a group without a store (rare backends)
        return None


def _join(device):
    """Initialize the default process group from the launcher's environment when no one
    has, and put this rank on the GPU that ``LOCAL_RANK`` names for ``device="cuda"``."""
    device = torch.device(device)
    if device.type not in ("cpu", "cuda"):
        raise ValueError(
            f"data-parallel training runs on CPUs (gloo) and CUDA GPUs (NCCL); "
            f"device={str(device)!r} cannot take part in it."
        )
    if device.type == "cuda" and device.index is None:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        # The rendezvous waits for ranks that start late (loading data): torch's default
        # timeout. The exchanges of training use a group of their own (_group).
        cuda = torch.cuda.is_available()
        dist.init_process_group("cpu:gloo,cuda:nccl" if cuda else "gloo")


def _group(backend):
    """The training group of ``backend``: every rank, the short timeout. Made once (all
    ranks at a barrier of the default group first, so a late rank is waited for with
    that group's patience) and kept until a failure closes it."""
    group = _GROUPS.get(backend)
    if group is None:
        dist.barrier()
        group = _GROUPS[backend] = dist.new_group(backend=backend, timeout=timeout())
    return group


def _close(run):
    """Close this rank's training group. Once nothing refers to it, its connections close
    and the other ranks' exchanges with this one fail at once (gloo), which is how a
    failure reaches a rank waiting inside DDP's backward pass; the run lets go of it, as
    the traceback may keep the run."""
    group = _GROUPS.pop(run.backend, None)
    run.group = None
    if group is not None:
        with contextlib.suppress(Exception):
            dist.destroy_process_group(group)


def _exchange_failed(error):
    """Whether ``error`` is a failed exchange with the other ranks (a closed connection,
    a timeout), rather than an error of this rank's own."""
    if isinstance(error, (_PeerFailed, getattr(dist, "DistError", ()))):
        return True
    words = ("Connection closed by peer", "Connection reset", "Timed out", "timed out",
             "Broken pipe", "NCCL", "ProcessGroup", "gloo")  # fmt: skip
    return isinstance(error, RuntimeError) and any(w in str(error) for w in words)


class _PeerFailed(RuntimeError):
    """Raised where a rank stops waiting for an exchange because another one failed."""


def _pickled(error):
    """``(pickled error or None, its text)``: what a rank tells the others."""
    try:
        data = pickle.dumps(error)
    except Exception:  # an exception of one's own that does not pickle
        data = None
    return data, f"{type(error).__name__}: {error}"


def _rebuilt(data, text):
    """An exception read back from the store: the same type and message where it
    unpickles, else a RuntimeError with its text."""
    try:
        error = pickle.loads(data)
        if isinstance(error, BaseException):
            return error
    except Exception:
        pass
    return RuntimeError(text)


class DataParallelRun:
    """What one data-parallel call of the estimator (a fit) shares between its steps.

    Parameters
    ----------
    device : torch.device
        The device the model trains on.
    """

    def __init__(self, device):
        self.device = device
        self.backend = "nccl" if device.type == "cuda" else "gloo"
        self.group = _group(self.backend)
        self.rank = dist.get_rank(self.group)
        self.world_size = dist.get_world_size(self.group)
        self.comm_device = (
            torch.device("cuda", torch.cuda.current_device())
            if (self.backend == "nccl")
            else torch.device("cpu")
        )
        _COUNTS["call"] += 1
        self.key = f"sk_embed/call{_COUNTS['call']}"
        self.store = _store()
        self.ddp = self.trainable = self.objective = None
        self.sizes = None  # each rank's rows in the batch being trained on
        self._sync_bn, self._sinks = [], []

    # -- exchanges ---------------------------------------------------------------------

    def exchange(self, collective, *args, **kwargs):
        """Run ``collective`` (``dist.all_reduce``, ...) on the training group and wait for
        it, looking every 0.2 s (gloo) whether another rank has failed meanwhile: a rank
        that fails writes its error to the store, and this one stops waiting then (with
        :class:`_PeerFailed`) rather than at the group's timeout."""
        work = collective(*args, group=self.group, async_op=True, **kwargs)
        if self.backend != "gloo" or self.store is None:
            work.wait()
            return
        start, limit = time.monotonic(), timeout().total_seconds() + _ERROR_WAIT
        while True:
            try:
                work.wait(timeout=_POLL)
                return
            except RuntimeError:
                if work.is_completed() or time.monotonic() - start > limit:
                    raise  # the exchange itself failed (a closed connection, the timeout)
            with contextlib.suppress(Exception):
                if self.store.check([f"{self.key}/failed"]):
                    raise _PeerFailed(
                        "another rank failed during a data-parallel fit; it stopped waiting"
                    )

    def agreed(self, value):
        """Rank 0's ``value`` (a number), on every rank."""
        dtype = torch.float64 if isinstance(value, float) else torch.int64
        tensor = torch.tensor([value], dtype=dtype, device=self.comm_device)
        self.exchange(dist.broadcast, tensor, src=dist.get_global_rank(self.group, 0))
        return type(value)(tensor.item())

    def all_gather(self, tensor):
        """Every rank's ``tensor`` (same shape on every rank), in rank order."""
        parts = [torch.empty_like(tensor) for _ in range(self.world_size)]
        self.exchange(dist.all_gather, parts, tensor.contiguous())
        return parts

    def gather_rows(self, local, sizes):
        """The rows of every rank, in rank order, as one tensor; this rank's own rows are
        ``local`` itself, so the gradient flows back to them (the others' carry none).

        Parameters
        ----------
        local : tensor of shape (sizes[rank], ...)
        sizes : list of int
            The rows of each rank (gloo needs equal sizes: the rows are padded).

        Returns
        -------
        tensor of shape (sum(sizes), ...)
        """
        most = max(sizes)
        sent = local.detach()
        if len(sent) < most:
            sent = torch.cat([sent, sent.new_zeros(most - len(sent), *sent.shape[1:])])
        parts = [part[:n] for part, n in zip(self.all_gather(sent), sizes)]
        parts[self.rank] = local
        return torch.cat(parts)

    def broadcast_state(self, tensors):
        """Rank 0's values of ``tensors``, copied into them in place on every rank (one
        broadcast per dtype)."""
        by_dtype = {}
        for t in tensors:
            by_dtype.setdefault(t.dtype, []).append(t)
        source = dist.get_global_rank(self.group, 0)
        for dtype, group in by_dtype.items():
            sent = torch.cat([t.detach().reshape(-1) for t in group]).to(self.comm_device)
            wire = sent.to(torch.uint8) if dtype == torch.bool else sent
            self.exchange(dist.broadcast, wire, src=source)
            sent = wire.to(dtype)
            start = 0
            with torch.no_grad():
                for t in group:
                    t.copy_(sent[start : start + t.numel()].view_as(t))
                    start += t.numel()

    # -- the module --------------------------------------------------------------------

    def start(self, net):
        """Make the module ready for data-parallel training: SyncBatchNorm on GPUs, a
        quiet per-epoch table on ranks other than 0."""
        if self.device.type == "cuda":
            self._sync_bn = _convert_batch_norm(net.module_, self.group)
        if self.rank != 0:
            for _, callback in getattr(net, "callbacks_", []):
                if hasattr(callback, "sink"):
                    self._sinks.append((callback, callback.sink))
                    callback.sink = _quiet
        self.objective = _Objective(net)

    def stop(self, net):
        """Undo :meth:`start`: plain BatchNorm (with the trained statistics) and no DDP
        hooks left on the parameters."""
        self._drop_ddp()
        for parent, name, original in self._sync_bn:
            original.train(getattr(parent, name).training)
            setattr(parent, name, original)
        for callback, sink in self._sinks:
            callback.sink = sink
        self._sync_bn, self._sinks, self.objective = [], [], None

    def _drop_ddp(self):
        if self.ddp is not None and hasattr(self.ddp, "_remove_autograd_hooks"):
            self.ddp._remove_autograd_hooks()
        self.ddp = self.trainable = None

    def model(self, net):
        """The DDP-wrapped module, rebuilt when the set of trained parameters changed
        (a backbone frozen for the first epochs): DDP syncs the gradients of the
        parameters that trained when it was built."""
        trainable = tuple(p.requires_grad for p in net.module_.parameters())
        if self.ddp is not None and trainable == self.trainable:
            return self.ddp
        first = self.trainable is None
        self._drop_ddp()
        if not any(trainable):
            return net.module_
        cuda = self.device.type == "cuda"
        self.ddp = nn.parallel.DistributedDataParallel(
            net.module_,
            device_ids=[torch.cuda.current_device()] if cuda else None,
            process_group=self.group,
            init_sync=first,
            **_NO_BUFFER_SYNC,  # every buffer is the same on every rank by construction
        )
        self.trainable = trainable
        return self.ddp


# DDP's switch off for broadcasting buffers at every forward pass (renamed in torch 2.12).
_NO_BUFFER_SYNC = (
    {"forward_sync_buffers": False}
    if "forward_sync_buffers" in inspect.signature(nn.parallel.DistributedDataParallel).parameters
    else {"broadcast_buffers": False}
)


def _quiet(*args, **kwargs):
    """A sink that prints nothing (the per-epoch table of ranks other than 0)."""


def _convert_batch_norm(module, group):
    """Replace every BatchNorm layer of ``module`` by a SyncBatchNorm that shares its
    parameters and statistics; returns ``(parent, name, original)`` to put them back."""
    replaced = []
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            is_bn = isinstance(child, nn.modules.batchnorm._BatchNorm)
            if is_bn and not isinstance(child, nn.SyncBatchNorm):
                synced = nn.SyncBatchNorm.convert_sync_batchnorm(child, group)
                setattr(parent, name, synced)
                replaced.append((parent, name, child))
    return replaced


class _ScaleGrad(torch.autograd.Function):
    """The identity, with the gradient multiplied by ``factor``."""

    @staticmethod
    def forward(ctx, x, factor):
        ctx.factor = factor
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.factor, None


class _Objective(nn.Module):
    """The net's loss of the whole batch, with the head and the criterion as submodules,
    so that the parameters the loss reads from them directly (not through the scores) can
    be swapped for copies whose gradient is divided by the world size.

    Every rank computes the same loss over the gathered batch and multiplies it by the
    world size, so that DDP's mean of the ranks' gradients is the sum of their rows'
    shares. A term that reads a parameter directly (SOC's class means scored among
    themselves, Virtual Softmax's class weight norms) would count once per rank; its
    gradient is divided by the world size instead. The criterion's own parameters are
    outside DDP: each rank computes their whole gradient.
    """

    def __init__(self, net):
        super().__init__()
        self.head = net.module_.head
        self.criterion = net.criterion_
        object.__setattr__(self, "net", net)  # not a submodule

    def forward(self, scores, z, y, X, sample_weight):
        return self.net.get_loss((scores, z), y, X=X, training=False, sample_weight=sample_weight)

    def loss(self, scores, z, y, X, sample_weight, world_size):
        share = 1.0 / world_size
        swapped = {
            name: _ScaleGrad.apply(p, share)
            for name, p in self.named_parameters()
            if p.requires_grad
        }
        args = (scores, z, y, X, sample_weight)
        return torch.func.functional_call(self, swapped, args)


# -- the estimator's side ------------------------------------------------------------------


@contextlib.contextmanager
def data_parallel(device):
    """Run one call of the estimator (a fit) data-parallel when this process is one of
    several of a torch.distributed run; a no-op otherwise.

    On entry the process group is joined (or started from the launcher's environment);
    inside, the net's training hooks of this module take part. A failure on this rank is
    written to the launcher's store and closes the training group, which ends the other
    ranks' exchanges with this one; a rank whose exchange failed raises the error the
    failing rank wrote. At the end, the ranks agree that every one of them succeeded.

    Parameters
    ----------
    device : str or torch.device
        The estimator's ``device``.

    Yields
    ------
    DataParallelRun or None
    """
    if not launched() or _RUN.get() is not None:
        yield None
        return
    _join(device)
    run = DataParallelRun(torch.device(device))
    token = _RUN.set(run)
    try:
        yield run
        # the last exchange: a rank that failed after its own last one is heard here
        run.exchange(dist.all_reduce, torch.zeros(1, device=run.comm_device))
    except BaseException as error:
        failure = _failure(run, error)
        if failure is error:
            raise
        raise failure from None
    finally:
        _RUN.reset(token)


def _failure(run, error):
    """The exception this rank ends with, after telling the others (its own error) or
    reading theirs (a failed exchange)."""
    keys = [f"{run.key}/error/{r}" for r in range(run.world_size)]
    store = run.store
    if not _exchange_failed(error):
        if store is not None:
            with contextlib.suppress(Exception):
                store.set(keys[run.rank], pickle.dumps(_pickled(error)))
                store.set(f"{run.key}/failed", str(run.rank))
        _close(run)
        return error
    _close(run)
    deadline = time.monotonic() + _ERROR_WAIT
    while store is not None and time.monotonic() < deadline:
        for rank, key in enumerate(keys):
            if rank == run.rank:
                continue
            with contextlib.suppress(Exception):
                if store.check([key]):
                    data, text = pickle.loads(store.get(key))
                    peer = _rebuilt(data, text)
                    peer._sk_embed_rank = rank
                    peer.add_note(
                        f"Raised on rank {rank} of {run.world_size} of a data-parallel fit; "
                        f"rank {run.rank} stopped at its next exchange with it."
                    )
                    return peer
        time.sleep(0.05)
    error.add_note(
        f"Rank {run.rank} of {run.world_size}: an exchange with the other ranks failed and "
        "none of them reported an error (one may have ended, or waited longer than "
        f"{TIMEOUT_VARIABLE}={timeout().total_seconds():g} s)."
    )
    return error


def agreed(value):
    """Rank 0's ``value`` on every rank of a data-parallel fit; ``value`` otherwise.

    For what each rank draws or computes on its own and all must share: a seed drawn from
    ``random_state=None``, the values training decides on.

    Parameters
    ----------
    value : int or float

    Returns
    -------
    int or float
    """
    run = _RUN.get()
    return value if run is None else run.agreed(value)


def write_once(write, path, *args):
    """``write(path, *args)`` on rank 0 only, the other ranks waiting until the file is
    written (or raising rank 0's error); a plain ``write`` in a single process.

    A rank 0 that saves alone (``if rank == 0: model.save(path)``) writes without waiting
    for anyone.

    Parameters
    ----------
    write : callable
    path : str or path-like
    *args
        Passed to ``write``.
    """
    if not launched():
        write(path, *args)
        return
    count = _COUNTS["save"].setdefault(os.fspath(path), 0) + 1
    _COUNTS["save"][os.fspath(path)] = count
    key = f"sk_embed/saved/{os.path.abspath(path)}/{count}"
    store = _store()
    if _rank() == 0:
        try:
            write(path, *args)
        except BaseException as error:
            if store is not None:
                store.set(key, f"{type(error).__name__}: {error}")
            raise
        if store is not None:
            store.set(key, "")
        return
    if store is None:
        return
    store.wait([key], datetime.timedelta(seconds=_SAVE_WAIT))
    failed = store.get(key).decode()
    if failed:
        raise RuntimeError(f"rank 0 could not write {os.fspath(path)!r}: {failed}")


# -- the net's hooks -------------------------------------------------------------------


def active():
    """Whether a data-parallel fit is in progress in this thread.

    Returns
    -------
    bool
    """
    return _RUN.get() is not None


@contextlib.contextmanager
def training(net, X):
    """The net's training (``partial_fit``) as one rank of a data-parallel fit: the ranks
    check that they hold the same data, the module trains through DDP, and is itself
    again at the end. A no-op outside a data-parallel fit.

    Parameters
    ----------
    net : EmbeddingNet
    X : TensorDataset
        The training data.
    """
    run = _RUN.get()
    if run is None:
        yield
        return
    _check_same_data(run, net, X)
    run.start(net)
    try:
        with layer_draws(_rank_own_draws(run, generator("cpu"), b"layers")):
            yield
    finally:
        run.stop(net)


def _rank_own_draws(run, shared, label):
    """Generators of this rank's own, seeded from the shared stream's state (which every
    rank holds alike), the rank and ``label``, without drawing from the shared stream."""
    state = b"" if shared is None else shared.get_state().numpy().tobytes()
    digest = hashlib.blake2b(state + label + run.rank.to_bytes(4, "little"), digest_size=8)
    return FitGenerators(int.from_bytes(digest.digest(), "little") >> 1)


def _check_same_data(run, net, X):
    """Refuse to train when the ranks hold different training data: each must pass the
    same ``X`` and ``y`` to fit (their shapes, labels and weights are compared)."""
    y = X.y.double().cpu()
    order = torch.arange(1, len(y) + 1, dtype=torch.float64)
    w = X.sample_weight
    w = torch.zeros(1, dtype=torch.float64) if w is None else w.double().cpu()
    sums = [y.sum(), (y * order).sum(), w.sum(), (w * order[: len(w)]).sum()]
    facts = [len(X), net.n_classes, math.prod(net.input_shape), *map(float, sums)]
    mine = torch.tensor(facts, dtype=torch.float64, device=run.comm_device)
    everyone = [part.cpu() for part in run.all_gather(mine)]
    differ = [r for r, part in enumerate(everyone) if not torch.equal(part, everyone[0])]
    if differ:
        raise ValueError(
            f"The ranks of this data-parallel fit hold different training data (rank 0: "
            f"{int(everyone[0][0])} samples; rank {differ[0]}: {int(everyone[differ[0]][0])} "
            "samples, or other labels or weights). Every process passes the same X and y to "
            "fit and the ranks share the batches: load the data alike on every rank (with a "
            "seeded split)."
        )


class _ShardedBatches(TensorBatches):
    """sk-embed's batches, each global batch cut into one contiguous part per rank.

    The order is drawn by the shared seeded generator, so every rank draws the same one;
    each rank fetches its own part only. The labels and weights of the whole batch and
    the parts' sizes are kept on the run, for :func:`whole_batches`.
    """

    def _order(self):
        self._epoch_order = super()._order()
        return self._epoch_order

    def _spans(self, n):
        self._whole = super()._spans(n)
        run, local = self.run, []
        for start, end in self._whole:
            sizes = _split(end - start, run.world_size)
            first = start + sum(sizes[: run.rank])
            local.append((first, first + sizes[run.rank]))
        return local

    def __iter__(self):
        self._epoch_order = None
        labels = None
        for k, batch in enumerate(super().__iter__()):
            if labels is None:
                order = self._epoch_order
                labels = [self.y] if self.sample_weight is None else [self.y, self.sample_weight]
                if order is not None:
                    labels = [part[order.to(part.device)] for part in labels]
            start, end = self._whole[k]
            y, *weight = (part[start:end] for part in labels)
            self.run.whole = (_split(end - start, self.run.world_size), y, *(weight or [None]))
            yield batch


def _split(n, parts):
    """Sizes of ``parts`` contiguous parts of ``n`` rows (the first ones one larger)."""
    return [n // parts + (r < n % parts) for r in range(parts)]


def shard(iterator):
    """The training batches of this rank: its part of each global batch. A no-op
    outside a data-parallel fit.

    Parameters
    ----------
    iterator : TensorBatches

    Returns
    -------
    iterable of batches
    """
    run = _RUN.get()
    if run is None:
        return iterator
    if type(iterator) is not TensorBatches:
        raise ValueError(
            f"data-parallel training splits sk-embed's own batches over the ranks; "
            f"iterator_train={type(iterator).__name__} cannot be split. Leave "
            "iterator_train as it is (its iterator_train__* options apply)."
        )
    sharded = object.__new__(_ShardedBatches)
    sharded.__dict__.update(iterator.__dict__)
    sharded.run = run
    return sharded


def whole_batches(iterator):
    """Training batches as every callback and the loss see them: this rank's inputs, with
    the labels and weights of the whole global batch. Random draws made while a batch is
    taken (augmentation, mixes) come from a stream of this rank's own. A no-op outside a
    data-parallel fit.

    Parameters
    ----------
    iterator : iterable of batches
        :func:`shard`'s, possibly augmented or mixed.

    Returns
    -------
    iterable of Batch
    """
    run = _RUN.get()
    if run is None:
        return iterator
    inner = iterator.batches if isinstance(iterator, AugmentedBatches) else iterator
    return _WholeBatches(iterator, run, labels_known=isinstance(inner, _ShardedBatches))


class _WholeBatches:
    """See :func:`whole_batches`. Where a wrapper may have changed the labels (mixes), the
    ranks exchange their parts' sizes, labels and weights."""

    def __init__(self, batches, run, labels_known):
        self.batches, self.run, self.labels_known = batches, run, labels_known
        sharded = batches
        while not isinstance(sharded, _ShardedBatches):
            sharded = sharded.batches
        # A stream of this rank's own, following the shared shuffling stream (which
        # advances from call to call) without drawing from it.
        self.draws = _rank_own_draws(run, sharded.generator, b"")

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        batches, run = iter(self.batches), self.run
        while True:
            with fit_draws(self.draws):
                batch = next(batches, None)
            if batch is None:
                return
            if self.labels_known:
                run.sizes, y, w = run.whole
                yield Batch(batch.X, y, w)
                continue
            y, w = batch.y, batch.sample_weight
            sizes = [int(s) for s in run.all_gather(torch.tensor([len(y)], device=run.comm_device))]
            columns = [y.double()] if w is None else [y.double(), w.double()]
            rows = torch.stack(columns, 1).to(run.comm_device)
            rows = run.gather_rows(rows, sizes).to(y.device)
            run.sizes = sizes
            yield Batch(batch.X, rows[:, 0].long(), None if w is None else rows[:, 1].to(w.dtype))


def train_step(net, batch, **fit_params):
    """One rank's training step: forward through DDP, the loss of the whole batch
    (:class:`_Objective`), backward; the gradient DDP averages is the single-process one.

    Parameters
    ----------
    net : EmbeddingNet
    batch : Batch
        From :func:`whole_batches`: this rank's inputs, the whole batch's labels and
        weights.
    **fit_params
        Passed to the module.

    Returns
    -------
    dict
        ``{"loss": loss, "y_pred": (scores, z)}``, of the whole batch.
    """
    run = _RUN.get()
    net._set_training(True)
    X, y, w = batch
    scores, z = run.model(net)(X, **fit_params)
    width = scores.shape[1]
    both = run.gather_rows(torch.cat([scores, z.to(scores.dtype)], 1), run.sizes)
    scores_all, z_all = both[:, :width], both[:, width:].to(z.dtype)
    y = y.to(scores.device)
    w = None if w is None else w.to(scores.device)
    loss = run.objective.loss(scores_all, z_all, y, None, w, run.world_size)
    objective = loss * run.world_size
    if net._reserving and net.reconstruction:
        objective, loss = _with_reconstruction(run, net, X, z, w, objective, loss)
    scaler = net._grad_scaler
    (objective if scaler is None else scaler.scale(objective)).backward()
    return {"loss": loss, "y_pred": (scores_all, z_all)}


def _with_reconstruction(run, net, X, z, w, objective, loss):
    """Add the decoder's error of this rank's rows, weighted by their share of the batch
    (so the ranks' terms add up to the error of the whole batch)."""
    start = sum(run.sizes[: run.rank])
    mine = None if w is None else w[start : start + len(z)]
    error = net.reconstruction_error(z, X, mine)
    share = len(z) / sum(run.sizes) if w is None else mine.sum() / w.sum().clamp_min(1e-12)
    term = net.reconstruction * share * error
    total = term.detach().reshape(1).to(run.comm_device, torch.float64)
    run.exchange(dist.all_reduce, total)
    return objective + term * run.world_size, loss + total.item()


def count_batch(net, batch, training):
    """Record the whole batch's size as the training batch's (skorch records this rank's
    part), so the epoch's training loss is the one a single process would record.

    Parameters
    ----------
    net : EmbeddingNet
    batch : Batch
        From :func:`whole_batches`.
    training : bool
    """
    if training and _RUN.get() is not None:
        net.history.record_batch("train_batch_size", len(batch.y))


def shard_rows(dataset):
    """This rank's contiguous share of ``dataset``'s rows (for a pass that reduces over
    the ranks afterwards); ``dataset`` outside a data-parallel fit.

    Parameters
    ----------
    dataset : TensorDataset

    Returns
    -------
    TensorDataset
    """
    run = _RUN.get()
    if run is None:
        return dataset
    sizes = _split(len(dataset), run.world_size)
    start = sum(sizes[: run.rank])
    rows = slice(start, start + sizes[run.rank])
    X, y, w = dataset.X, dataset.y, dataset.sample_weight
    return TensorDataset(X[rows], None if y is None else y[rows], None if w is None else w[rows])


def merge_moments(total, mean, m2, like):
    """The count, mean and sum of squared deviations over every rank's rows, from each
    rank's (Chan et al.'s pairwise merge, in rank order on every rank, so every rank gets
    the same numbers); the arguments themselves outside a data-parallel fit.

    Parameters
    ----------
    total, mean, m2 : tensor or None
        This rank's; None where it had no rows.
    like : tensor
        A tensor of the statistics' shape.

    Returns
    -------
    total, mean, m2 : tensors of ``like``'s shape, float64
    """
    run = _RUN.get()
    if run is None:
        return total, mean, m2
    shape = like.shape
    if total is None:
        zero = torch.zeros(shape, dtype=torch.float64, device=like.device)
        total, mean, m2 = zero, zero, zero
    mine = torch.cat([t.reshape(-1).double() for t in (total, mean, m2)]).to(run.comm_device)
    merged = None
    for part in run.all_gather(mine):
        n_b, mean_b, m2_b = (p.reshape(shape).to(like.device) for p in part.chunk(3))
        if not (n_b > 0).all():
            continue
        if merged is None:
            merged = [n_b, mean_b, m2_b]
            continue
        n_a, mean_a, m2_a = merged
        delta, n = mean_b - mean_a, n_a + n_b
        merged = [n, mean_a + delta * n_b / n, m2_a + m2_b + delta.pow(2) * n_a * n_b / n]
    return tuple(merged)


def synchronize(net):
    """Make every rank's model rank 0's, bit for bit, once training ends: the running
    statistics of BatchNorm layers that each rank kept on its own part (on CPUs, where
    SyncBatchNorm does not run) are averaged first. A no-op outside a data-parallel fit.

    Parameters
    ----------
    net : EmbeddingNet
    """
    run = _RUN.get()
    if run is None:
        return
    if run.device.type != "cuda":
        stats = [
            t
            for m in net.module_.modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
            for t in (m.running_mean, m.running_var)
            if t is not None
        ]
        for t in stats:
            run.exchange(dist.all_reduce, t)
            t /= run.world_size
    states = [*net.module_.state_dict().values(), *net.criterion_.state_dict().values()]
    run.broadcast_state([t for t in states if torch.is_tensor(t)])


# -- starting the processes ------------------------------------------------------------


def notebook_launcher(function, args=(), num_processes=None, *, timeout=None):
    """Run ``function(*args)`` in ``num_processes`` processes on this machine that train
    together, and return what it returned on rank 0.

    For a notebook or a plain script on a machine with several GPUs and no launcher: the
    processes are started (forked) as ``torchrun --nproc_per_node`` would start them,
    each fit inside ``function`` is data-parallel over them, and the result of rank 0
    (say, the fitted estimator) comes back to the calling process. The shape is that of
    accelerate's ``notebook_launcher``.

    Parameters
    ----------
    function : callable
        Called in each process with ``*args``; what it returns on rank 0 must pickle.
    args : tuple, default=()
    num_processes : int, optional
        Default: the number of CUDA devices (required on a machine without one). With
        ``device="cuda"``, process ``r`` trains on GPU ``r``; on CPUs each process gets
        an equal share of the cores (``torch.set_num_threads``).
    timeout : float, optional
        Seconds to wait for the processes; past it they are ended and a ``TimeoutError``
        is raised. None waits as long as they run.

    Returns
    -------
    object
        ``function(*args)`` of rank 0.

    Raises
    ------
    Exception
        The error a process raised (the one that failed first; the others stop with
        it), with a note naming the process and its traceback.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sk_embed import EmbeddingClassifier, notebook_launcher
    >>> X, y = load_digits(return_X_y=True)
    >>> def train(X, y):
    ...     return EmbeddingClassifier(max_epochs=3, random_state=0).fit(X, y)
    >>> clf = notebook_launcher(train, args=(X, y), num_processes=2)  # doctest: +SKIP
    """
    if num_processes is None:
        if not torch.cuda.is_available():
            raise ValueError(
                "notebook_launcher: this machine has no CUDA device; pass num_processes "
                "(processes on CPUs share its cores)."
            )
        num_processes = torch.cuda.device_count()
    if not isinstance(num_processes, int) or num_processes < 1:
        raise ValueError(f"num_processes must be a positive int; got {num_processes!r}")
    if launched():
        raise RuntimeError(
            "notebook_launcher starts the processes of a data-parallel run; this process is "
            "one of such a run already (under torchrun?). Call function(*args) directly."
        )
    if "fork" not in multiprocessing.get_all_start_methods():
        raise RuntimeError(
            "notebook_launcher forks the processes (the notebook's functions stay "
            "reachable that way), which this platform cannot do; use torchrun."
        )
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        raise RuntimeError(
            "notebook_launcher: CUDA was initialized in this process already, and a forked "
            "process cannot use it then. Restart the kernel and call notebook_launcher "
            "before anything touches the GPU (keep models and tensors on the CPU here)."
        )
    # torch.optim imports torch._dynamo at the first optimizer a process makes (seconds):
    # imported here once, the forked processes share it.
    importlib.import_module("torch._dynamo")

    context = multiprocessing.get_context("fork")
    port = _free_port()
    # This process serves the store, as torchrun's agent does: it outlives every rank,
    # so a rank's error can be read after that rank has ended.
    store = dist.TCPStore("127.0.0.1", port, num_processes, is_master=True, wait_for_workers=False)
    reports = context.Queue()
    processes = [
        context.Process(target=_launched, args=(function, args, rank, num_processes, port, reports))
        for rank in range(num_processes)
    ]
    for process in processes:
        process.start()
    try:
        results = _collect(processes, reports, timeout)
    except BaseException:
        for process in processes:
            process.terminate()
        raise
    finally:
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join()
        del store
    failed = {rank: r for rank, r in results.items() if r[0] == "error"}
    if failed:
        raise _launched_error(failed, num_processes)
    return pickle.loads(results[0][1])


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launched(function, args, rank, world_size, port, reports):
    """One process of :func:`notebook_launcher`: the launcher's environment, the call,
    and its report (the pickled result of rank 0, or the error)."""
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world_size), LOCAL_WORLD_SIZE=str(world_size),
        TORCHELASTIC_USE_AGENT_STORE="True",
    )  # fmt: skip
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // world_size))
    try:
        result = function(*args)
        report = (rank, "ok", pickle.dumps(result) if rank == 0 else None)
    except BaseException as error:
        origin = getattr(error, "_sk_embed_rank", rank)
        report = (rank, "error", (*_pickled(error), traceback.format_exc(), origin))
    finally:
        _GROUPS.clear()
        if dist.is_initialized():
            with contextlib.suppress(Exception):
                dist.destroy_process_group()
    reports.put(report)


def _collect(processes, reports, limit):
    """Every process's report; an error for a process that ended without one, or when
    ``limit`` seconds pass."""
    results, ended, started = {}, {}, time.monotonic()
    while len(results) < len(processes):
        try:
            rank, status, payload = reports.get(timeout=0.2)
            results[rank] = (status, payload)
            continue
        except queue.Empty:
            pass
        now = time.monotonic()
        if limit is not None and now - started > limit:
            raise TimeoutError(
                f"notebook_launcher: the processes ran past timeout={limit} s "
                f"({len(results)} of {len(processes)} finished); they were ended."
            )
        for rank, process in enumerate(processes):
            if rank in results or process.exitcode is None:
                continue
            # a report may still be in the pipe for a moment after its process ended
            if now - ended.setdefault(rank, now) > 2.0:
                text = (
                    f"process {rank} ended with exit code {process.exitcode} without a "
                    "result (killed, or out of memory?)"
                )
                results[rank] = ("error", (None, text, "", rank))
    return results


def _launched_error(failed, world_size):
    """The error to raise in the calling process: one a process raised itself (not one
    it stopped with because another failed), with its process and traceback."""
    own = [rank for rank, (_, payload) in failed.items() if payload[3] == rank]
    rank = min(own or failed)
    data, text, trace, _ = failed[rank][1]
    error = _rebuilt(data, text) if data is not None else RuntimeError(text)
    note = f"Raised in process {rank} of {world_size} started by notebook_launcher"
    error.add_note(note + (f"; its traceback:\n{trace}" if trace else "."))
    return error
