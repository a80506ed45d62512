"""The order of the example gallery: the getting-started figure, the pictures that
choose a technique, then tuning, use in a pipeline, and the open set. An example missing
here goes last."""

from pathlib import Path

ORDER = [
    "plot_getting_started.py",
    "plot_compare_techniques.py",
    "plot_angular_margins.py",
    "plot_compare_3d.py",
    "plot_baselines.py",
    "plot_umap.py",
    "plot_margin_search.py",
    "plot_embedding_size.py",
    "plot_pipeline_knn.py",
    "plot_imbalanced_classes.py",
    "plot_augmented_images.py",
    "plot_decision_regions.py",
    "plot_open_set_decision.py",
    "plot_retrieval.py",
    "plot_open_set_new_classes.py",
    "plot_new_classes_2d.py",
    "plot_transfer.py",
]


def gallery_order(filename):
    """Sort key of an example's file name for sphinx-gallery."""
    name = Path(filename).name
    return (ORDER.index(name), name) if name in ORDER else (len(ORDER), name)
