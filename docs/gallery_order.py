"""The order of the example gallery: its sections (``SECTIONS``, folders of examples/),
then the examples within each (``ORDER``). An example missing from ``ORDER`` goes last in
its section."""

from pathlib import Path

#: The gallery's sections, in order: each a folder of examples/ with a GALLERY_HEADER.rst.
SECTIONS = ["first_steps", "techniques", "open_set", "image_data"]

ORDER = [
    # first steps
    "plot_getting_started.py",
    "plot_decision_regions.py",
    "plot_pipeline_knn.py",
    "plot_imbalanced_classes.py",
    # techniques: the pictures that choose one, then tuning, then the alternatives
    "plot_families.py",
    "plot_compare_techniques.py",
    "plot_angular_margins.py",
    "plot_compare_3d.py",
    "plot_margin_search.py",
    "plot_embedding_size.py",
    "plot_baselines.py",
    # open set, new classes and retrieval
    "plot_open_set_decision.py",
    "plot_open_set_new_classes.py",
    "plot_new_classes_2d.py",
    "plot_retrieval.py",
    # images
    "plot_augmented_images.py",
    "plot_transfer.py",
]


def gallery_order(filename):
    """Sort key of an example's file name for sphinx-gallery."""
    name = Path(filename).name
    return (ORDER.index(name), name) if name in ORDER else (len(ORDER), name)
