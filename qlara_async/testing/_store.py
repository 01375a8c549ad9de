"""In-memory state for the platform's resources (contacts, lists, campaigns, API keys, ...).

Each API key is an account: it has its own :class:`Collection` of each kind, created on first use,
and :meth:`Simulator.clear() <qlara_async.testing.Simulator.clear>` forgets them all.

A kind of resource is declared once, at import time of its handler module, with
:func:`define_collection` (its name, the words for its 404, its timestamp fields, and how to make a
doc-shaped item for :meth:`Simulator.seed() <qlara_async.testing.Simulator.seed>`). Declaring a
name twice is an error, so two areas cannot silently share one collection.

Items are JSON-shaped dicts with the API's wire names. A collection assigns ``id`` (an int,
from 1, never reused) and the creation timestamp (ISO 8601 UTC, from the simulator's clock); it
hands out and takes in deep copies, so nothing outside it changes an item without going through
it. One lock per store guards every collection: the loopback server's thread and a test's thread
may use the same simulator.
"""

from __future__ import annotations

import builtins
import copy
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from ._base import iso_utc
from ._errors import NotFound

__all__ = ["Collection", "CollectionSpec", "Item", "SeedFactory", "Store", "define_collection"]

Item = dict[str, Any]
"""One resource as the API shows it (wire names)."""

SeedFactory = Callable[[int], Mapping[str, Any]]
"""Makes the ``i``-th (0-based) seeded item's fields; ``id`` and timestamps are added for it."""


@dataclass(frozen=True, slots=True)
class CollectionSpec:
    """How one kind of resource is stored (see :func:`define_collection`)."""

    name: str
    label: str
    created: str | None = "creationDate"
    updated: str | None = "lastUpdateDate"
    seed: SeedFactory | None = None


_SPECS: Final[dict[str, CollectionSpec]] = {}


def define_collection(
    name: str,
    label: str,
    *,
    created: str | None = "creationDate",
    updated: str | None = "lastUpdateDate",
    seed: SeedFactory | None = None,
) -> CollectionSpec:
    """Declare a kind of resource; call it once, at module level in the area's handler module.

    :param name: the key tests use (``sim.seed("api_keys", 250)``), ``snake_case`` plural.
    :param label: how a 404 names one item: ``"API key"`` gives ``"API key 7 not found."``.
    :param created: the field set to the creation time (``None``: no such field).
    :param updated: the field set to the time of the last change (``None``: no such field).
    :param seed: makes doc-shaped items for :meth:`Simulator.seed`.
    """
    if name in _SPECS:
        raise ValueError(f"collection {name!r} is defined twice")
    spec = _SPECS[name] = CollectionSpec(name, label, created, updated, seed)
    return spec


def spec_for(name: str) -> CollectionSpec:
    """The declared spec called ``name``; ``KeyError`` naming the declared ones otherwise."""
    try:
        return _SPECS[name]
    except KeyError:
        known = ", ".join(sorted(_SPECS)) or "none"
        raise KeyError(f"no collection {name!r} is defined (defined: {known})") from None


class Collection:
    """The items of one kind for one account, in creation (``id``) order.

    Every method takes the store's lock; returned items are copies.
    """

    def __init__(self, spec: CollectionSpec, wall: Callable[[], float], lock: threading.RLock):
        self.spec = spec
        self._wall = wall
        self._lock = lock
        self._items: dict[int, Item] = {}
        self._next_id = 1

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def create(self, fields: Mapping[str, Any]) -> Item:
        """Store a new item: ``id`` first, then ``fields``, then the timestamps. Returns it."""
        with self._lock:
            item_id = self._next_id
            self._next_id += 1
            now = iso_utc(self._wall())
            item: Item = {"id": item_id, **copy.deepcopy(dict(fields))}
            for stamp in (self.spec.created, self.spec.updated):
                if stamp is not None:
                    item[stamp] = now
            self._items[item_id] = item
            return copy.deepcopy(item)

    def get(self, item_id: int) -> Item:
        """The item ``item_id``; :class:`NotFound` (404, platform format) when there is none."""
        with self._lock:
            return copy.deepcopy(self._existing(item_id))

    def find(self, **equals: Any) -> Item | None:
        """The first item whose fields equal ``equals``, or ``None``."""
        found = self.list(**equals)
        return found[0] if found else None

    def list(self, where: Callable[[Item], bool] | None = None, **equals: Any) -> list[Item]:
        """Items in ``id`` order whose fields equal ``equals`` and for which ``where`` is true."""
        with self._lock:
            return [
                copy.deepcopy(item)
                for item in self._items.values()
                if all(item.get(k) == v for k, v in equals.items())
                and (where is None or where(item))
            ]

    def update(self, item_id: int, changes: Mapping[str, Any]) -> Item:
        """Merge ``changes`` into the item (a PATCH, or a PUT whose fields are all optional)."""
        with self._lock:
            item = self._existing(item_id)
            item.update(copy.deepcopy(dict(changes)))
            self._protect(item_id, item)
            return copy.deepcopy(item)

    def replace(self, item_id: int, fields: Mapping[str, Any]) -> Item:
        """Replace the item's fields with ``fields`` (a PUT), keeping ``id`` and creation time."""
        with self._lock:
            old = self._existing(item_id)
            item: Item = {"id": item_id, **copy.deepcopy(dict(fields))}
            if self.spec.created is not None:
                item[self.spec.created] = old[self.spec.created]
            self._protect(item_id, item)
            self._items[item_id] = item
            return copy.deepcopy(item)

    def delete(self, item_id: int) -> Item:
        """Remove the item and return it; :class:`NotFound` when there is none."""
        with self._lock:
            self._existing(item_id)
            return self._items.pop(item_id)

    def seed(self, n: int, factory: SeedFactory | None = None) -> builtins.list[Item]:
        """Create ``n`` items from ``factory`` (default: the spec's); return them."""
        make = factory or self.spec.seed
        if make is None:
            raise ValueError(f"collection {self.spec.name!r} has no seed factory: pass factory=")
        if n < 0:
            raise ValueError(f"cannot seed {n} items")
        with self._lock:
            return [self.create(make(i)) for i in range(n)]

    def _existing(self, item_id: int) -> Item:
        item = self._items.get(item_id)
        if item is None:
            raise NotFound(f"{self.spec.label} {item_id} not found.")
        return item

    def _protect(self, item_id: int, item: Item) -> None:
        # A body cannot move an item to another id or rewrite when it was created.
        item["id"] = item_id
        if self.spec.updated is not None:
            item[self.spec.updated] = iso_utc(self._wall())


class Store:
    """Every account's collections. ``wall`` gives Unix time for the timestamps."""

    def __init__(self, wall: Callable[[], float]) -> None:
        self._wall = wall
        self._lock = threading.RLock()
        self._collections: dict[tuple[str, str], Collection] = {}

    def collection(self, account: str, name: str) -> Collection:
        """Account ``account``'s collection ``name`` (a declared one), created on first use."""
        spec = spec_for(name)
        with self._lock:
            found = self._collections.get((account, name))
            if found is None:
                found = self._collections[(account, name)] = Collection(
                    spec, self._wall, self._lock
                )
            return found

    def accounts(self) -> Iterable[str]:
        """The accounts that have any state."""
        with self._lock:
            return sorted({account for account, _ in self._collections})
