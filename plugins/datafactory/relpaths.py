"""The one lexical check every name that becomes a path or an object key passes (landing names, store
keys, product names): plain relative paths only."""

from __future__ import annotations

import unicodedata


def escapes(name: str) -> bool:
    """True when `name` is empty or absolute, or has a `..`/`.`/empty part (also in its compatibility
    form: full-width dots), a backslash or a control character."""
    folded = unicodedata.normalize("NFKC", name)
    return (
        not name
        or folded.startswith("/")
        or "\\" in folded
        or any(part in {"", ".", ".."} for part in folded.split("/"))
        or any(unicodedata.category(ch).startswith("C") for ch in folded)
    )
