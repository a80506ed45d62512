"""A search on a Dask cluster gives what the same search gives locally."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from sk_embed import EmbeddingClassifier

distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")


def _set_threads(n):
    import torch

    torch.set_num_threads(n)


def test_grid_search_on_a_local_cluster_equals_the_local_search(small):
    import torch

    X, y = small
    search = GridSearchCV(
        EmbeddingClassifier("contrastive", max_epochs=4, tol=None, random_state=0),
        {"loss__margin": [0.5, 1.0, 2.0]},
        cv=StratifiedKFold(3),
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as on each worker: the same float reductions
    try:
        local = search.fit(X, y).cv_results_
    finally:
        torch.set_num_threads(threads)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.run(_set_threads, 1)
        with distributed.get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
            remote = search.fit(X, y).cv_results_
        ran_on = {task["worker"] for task in tasks.data}
        assert len(tasks.data) >= 9 and len(ran_on) == 2  # 3 margins x 3 folds, both workers
    assert remote["params"] == local["params"]
    for key in ("mean_test_score", "split0_test_score", "split2_test_score"):
        np.testing.assert_array_equal(remote[key], local[key])
