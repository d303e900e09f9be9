"""One loaded proxy per proxy id and process, shared by every reader of a task's images.

The image statistics (:func:`fennec.tasks.describe_images`, :func:`fennec.tasks.describe_task`) and the proxy's
names for the images (:func:`fennec.tasks.label_task_images`) run the same proxy models. Each kept an encoder
cache of its own, so a run that needed both (``recommend`` or ``rank-batch`` on a space that reads image
statistics, for a task without class names) could build and load one proxy twice: the statistics from the disk
cache of an earlier run still build the encoder (its name is part of the cache key), and the names then built
and loaded another. Both now take their encoder from :func:`shared_proxy`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from fennec.encoders.base import resolve_proxy_id


def shared_proxy(proxy: str | None = None) -> Any:
    """The process's encoder for an image proxy, built on first use and reused by every later caller.

    Encoders are lazy (the weights load on the first forward pass), so building one here costs nothing until it
    runs, and a batch of tasks loads each proxy's weights once.

    Args:
        proxy: Image proxy id (None: :data:`fennec.encoders.DEFAULT_PROXY`), resolved by
            :func:`fennec.encoders.resolve_proxy_id`, so an alias and its full id share one encoder.

    Returns:
        The encoder from :func:`fennec.encoders.create_image_encoder` (``.encode_images``; timm and open_clip
        proxies also ``.classify_images``, ``.embed_and_classify_images`` and ``.label_names``).
    """
    # The factory is looked up at call time, under the package's name: a stand-in put there (the tests' fakes)
    # is the one called, and, being part of the key, it never gets encoders the real factory built or gives them
    # its own. In a run there is one factory, so one encoder per proxy id.
    from fennec.encoders import create_image_encoder

    return _loaded(resolve_proxy_id(proxy), create_image_encoder)


@lru_cache(maxsize=4)  # a run uses one or two proxies (the names' and the space's); a few more stay loaded
def _loaded(proxy_id: str, factory: Callable[[str], Any]) -> Any:
    return factory(proxy_id)
