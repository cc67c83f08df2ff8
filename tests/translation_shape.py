"""What a translation of an English catalog entry must look like (shared by the per-language
catalog tests): the same ids, every text key set, no flags, and as many quiz choices."""

from __future__ import annotations

from typing import Any

TEXT = ("title", "why", "learn", "console", "cli")
ITEM_TEXT = {"options": ("label", "tradeoff"), "steps": ("title", "action", "console")}


def wanted(en: dict[str, Any]) -> dict[str, Any]:
    """The shape a translation of `en` must have: ids kept, every text key set to None (the
    same form as checks._catalog._shape of the translation)."""
    out: dict[str, Any] = {"id": en["id"]} | {k: None for k in TEXT if k in en}
    for kind, keys in ITEM_TEXT.items():
        if en.get(kind):
            out[kind] = [{"id": i["id"]} | {k: None for k in keys if k in i} for i in en[kind]]
    if en.get("quiz"):
        out["quiz"] = [
            {"id": q["id"], "question": None, "choices": [None] * len(q["choices"]), "reason": None}
            for q in en["quiz"]
        ]
    return out
