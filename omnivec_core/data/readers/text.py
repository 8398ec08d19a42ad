"""Text queries: a cleaned caption string."""
from __future__ import annotations

import re
import unicodedata

from ...modalities.loaded import Loaded, MediaError

MAX_CHARS = 200


def read_text(text) -> Loaded:
    """A caption -> Loaded("text", str): Unicode-normalised (NFC), control characters
    dropped, runs of whitespace collapsed, stripped; 1..200 characters with a letter."""
    if not isinstance(text, str):
        raise MediaError(f"text must be a string, not {type(text).__name__}", code="not_text")
    notes: list[str] = []
    s = unicodedata.normalize("NFC", text)
    s = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in s)
    cleaned = re.sub(r"\s+", " ", s).strip()
    if cleaned != text.strip():
        notes.append("whitespace and control characters tidied")
    if not cleaned:
        raise MediaError("the text is empty", code="empty")
    if len(cleaned) > MAX_CHARS:
        raise MediaError(f"the text is too long ({len(cleaned)} characters; at most {MAX_CHARS})", code="too_long")
    if not any(c.isalpha() for c in cleaned):
        raise MediaError("the text has no letters", code="no_letters")
    return Loaded("text", cleaned, None, notes, "")
