"""A tiny path router: literal segments win over ``{param}`` segments, then backtracking.

``/contacts/list`` and ``/contacts/{id}`` share a prefix in the Qlara API, so the literal must be
tried first; when a literal branch dead-ends, the ``{param}`` branch is tried next.

Parameter names belong to the registered pattern, not to the position: ``GET
/authentication/{value}`` and ``DELETE /authentication/{id}`` (or ``/contacts/list/{id}`` and
``/contacts/list/{listId}/contacts``) live side by side, each handler seeing its own names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["Match", "Router"]

H = TypeVar("H")


@dataclass(slots=True)
class _Node(Generic[H]):
    literals: dict[str, _Node[H]] = field(default_factory=dict)
    param: _Node[H] | None = None
    handlers: dict[str, tuple[H, tuple[str, ...]]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Match(Generic[H]):
    """The outcome of :meth:`Router.match`.

    ``handler`` is ``None`` when nothing matched: ``allowed`` is then empty for an unknown path
    (404) and lists the methods the path does accept for a known path (405).
    """

    handler: H | None
    params: dict[str, str]
    allowed: tuple[str, ...] = ()


class Router(Generic[H]):
    """Maps ``(method, path)`` to a handler; patterns look like ``/files/{mediaKey}``."""

    def __init__(self) -> None:
        self._root: _Node[H] = _Node()

    def add(self, method: str, pattern: str, handler: H) -> None:
        """Register ``handler`` for ``method`` on ``pattern``."""
        node = self._root
        names: list[str] = []
        for seg in _split(pattern):
            if seg.startswith("{") and seg.endswith("}"):
                names.append(seg[1:-1])
                if node.param is None:
                    node.param = _Node()
                node = node.param
            else:
                node = node.literals.setdefault(seg, _Node())
        if len(set(names)) != len(names):
            raise ValueError(f"repeated parameter name in {pattern!r}")
        if method in node.handlers:
            raise ValueError(f"{method} {pattern} registered twice")
        node.handlers[method] = (handler, tuple(names))

    def route(self, method: str, pattern: str) -> Callable[[H], H]:
        """Decorator form of :meth:`add`."""

        def register(handler: H) -> H:
            self.add(method, pattern, handler)
            return handler

        return register

    def match(self, method: str, path: str) -> Match[H]:
        """Find the handler for ``method`` and ``path``."""
        values: list[str] = []
        node = _walk(self._root, _split(path), 0, values)
        if node is None:
            return Match(None, {})
        found = node.handlers.get(method)
        if found is None:
            return Match(None, {}, tuple(sorted(node.handlers)))
        handler, names = found
        # Every pattern ending at this node has a parameter at the same positions.
        return Match(handler, dict(zip(names, reversed(values), strict=True)))


def _split(path: str) -> list[str]:
    return [seg for seg in path.split("/") if seg]


def _walk(node: _Node[H], segs: list[str], i: int, values: list[str]) -> _Node[H] | None:
    """The node ``segs[i:]`` leads to; parameter values are appended innermost first."""
    if i == len(segs):
        return node if node.handlers else None
    seg = segs[i]
    child = node.literals.get(seg)
    if child is not None:
        found = _walk(child, segs, i + 1, values)
        if found is not None:
            return found
    if node.param is not None:
        found = _walk(node.param, segs, i + 1, values)
        if found is not None:
            values.append(seg)
            return found
    return None
