"""Key bindings whose footer labels follow the app's language."""

from __future__ import annotations

import dataclasses

from textual.binding import Binding
from textual.dom import DOMNode

from lab.tui.strings import s


def key(keys: str, action: str, label: str, show: bool = True, priority: bool = False) -> Binding:
    """A binding labelled by the strings key *label* (kept as its id, to relabel later)."""
    return Binding(keys, action, s(label, "en"), show=show, id=label, priority=priority)


def relabel(node: DOMNode, lang: str) -> None:
    """Rewrite the footer labels of *node*'s bindings in *lang*."""
    table = node._bindings.key_to_bindings
    for k, bindings in table.items():
        table[k] = [
            dataclasses.replace(b, description=s(b.id, lang))
            if (b.id or "").startswith("key.")
            else b
            for b in bindings
        ]
    if node.is_attached:
        node.refresh_bindings()
