"""The on-disk cache directory and cache keys shared by descriptors and zoo feature extraction."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any


def cache_dir(sub: str | None = None) -> Path:
    """``$FENNEC_CACHE`` or ``~/.cache/fennec`` (optionally a sub-folder); not created here.

    Raises:
        FennecInputError: ``$FENNEC_CACHE`` names a file: said before anything is computed for the cache, which
            could not keep it.
    """
    root = Path(os.environ.get("FENNEC_CACHE") or Path.home() / ".cache" / "fennec").expanduser()
    if root.exists() and not root.is_dir():
        from fennec.validation import FennecInputError

        raise FennecInputError(f"$FENNEC_CACHE {str(root)!r}: is a file, not a folder; point FENNEC_CACHE at a "
                               "folder (or unset it for ~/.cache/fennec)")
    return root / sub if sub else root


def cache_key(*parts: Any) -> str:
    """A short hex digest of JSON-serialisable parts (order matters)."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:32]
