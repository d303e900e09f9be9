"""Tasks in, vectors out: task readers, robust image loading, probe sets and task descriptors.

Public API::

    read_task(spec, classes=None) -> Task              # image folder, manifest, .npz features, class names
    task_from_class_names(name, class_names, description=None) -> Task
    sample_probe_set(task, max_images=500, seed=0) -> ProbeSet
    describe_task(task, proxy=None, text_encoder=None) -> TaskDescriptor   # .vector, .parts
    describe_images(task, proxy=None) -> ImageStatistics  # the image part alone (.part), no text encoder
    label_task_images(task, proxy=None) -> VisualLabels  # what the proxy's classifier sees in the images
    text_card(task, labels=None) -> TaskCard             # the task as the transfer space reads it
"""

from fennec.tasks.descriptor import (
    GEOMETRY_STATS,
    META_FIELDS,
    ImageStatistics,
    ProbeOutputs,
    TaskDescriptor,
    describe_images,
    describe_task,
    descriptor_layout,
    load_descriptor,
)
from fennec.tasks.images import ImageLoadError, LoadReport, load_image, load_images
from fennec.tasks.readers import READERS, detect_reader, parse_class_names, read_task
from fennec.tasks.sampler import ProbeSet, balanced_sample, sample_probe_set
from fennec.tasks.task import Task, task_from_class_names
from fennec.tasks.visual import VisualLabels, label_task_images, text_card

__all__ = [
    "GEOMETRY_STATS",
    "META_FIELDS",
    "READERS",
    "ImageLoadError",
    "ImageStatistics",
    "LoadReport",
    "ProbeOutputs",
    "ProbeSet",
    "Task",
    "TaskDescriptor",
    "VisualLabels",
    "balanced_sample",
    "describe_images",
    "describe_task",
    "descriptor_layout",
    "detect_reader",
    "label_task_images",
    "load_descriptor",
    "load_image",
    "load_images",
    "parse_class_names",
    "read_task",
    "sample_probe_set",
    "task_from_class_names",
    "text_card",
]
