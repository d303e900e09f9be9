"""The on-disk cache directory and cache keys shared by descriptors and zoo feature extraction."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any


def cache_dir(sub: str | None = None) -> Path:
    """``$FENNEC_CACHE`` or ``~/.cache/fennec`` (optionally a sub-folder); not created here."""
    root = Path(os.environ.get("FENNEC_CACHE") or Path.home() / ".cache" / "fennec").expanduser()
    return root / sub if sub else root


def cache_key(*parts: Any) -> str:
    """A short hex digest of JSON-serialisable parts (order matters)."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:32]
