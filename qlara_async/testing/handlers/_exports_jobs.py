"""Export jobs, shared by ``exports.py`` (contacts, delivery reports, the job list and links) and
``messages.py`` (the message-history export).

A job is stored with its timing in private fields (``_readyAt``, ``_expiresAt``: Unix times on the
simulator's clock) and shown with its state computed when it is read:

* ``PENDING`` until ``export_delay`` seconds (a :class:`Simulator` knob) have passed since the
  request, ``isAvailableForDownload: false``;
* then ``COMPLETED``, ``isAvailableForDownload: true``, with ``expirationDate`` (the link's end,
  ``export_link_ttl`` seconds later);
* then ``EXPIRED``, ``isAvailableForDownload: false``, until a regenerate gives a new link.
"""

from __future__ import annotations

import secrets
from typing import Any, Final

from ._api import Item, Reply, Request, accepted, define_collection
from ._messages_query import iso

__all__ = ["EXPORTS", "link", "request_export", "shown", "state"]

EXPORTS: Final = define_collection(
    "exports",
    "Export",
    updated=None,
    seed=lambda i: {
        "type": "CONTACTS",
        "filters": {},
        "_readyAt": 0.0,
        "_expiresAt": 1e11,
        "_token": f"seed{i}",
    },
)

PENDING: Final = "PENDING"
COMPLETED: Final = "COMPLETED"
EXPIRED: Final = "EXPIRED"


def state(request: Request, item: Item) -> str:
    """The job's status now."""
    now = request.clock.wall()
    if now < item["_readyAt"]:
        return PENDING
    if now >= item["_expiresAt"]:
        return EXPIRED
    return COMPLETED


def shown(request: Request, item: Item) -> dict[str, Any]:
    """The job as the list shows it: private fields out, state computed."""
    status = state(request, item)
    public = {k: v for k, v in item.items() if not k.startswith("_")}
    public["status"] = status
    public["isAvailableForDownload"] = status == COMPLETED
    public["expirationDate"] = iso(item["_expiresAt"]) if status != PENDING else None
    return public


def link(item: Item) -> dict[str, Any]:
    """The download link of a job that is ``COMPLETED``."""
    return {
        "id": item["id"],
        "downloadUrl": (
            f"https://exports.qlara-simulator.invalid/{item['id']}/{item['_token']}.csv"
            f"?expires={int(item['_expiresAt'])}"
        ),
        "expirationDate": iso(item["_expiresAt"]),
    }


def request_export(request: Request, kind: str, filters: dict[str, Any]) -> Reply:
    """Create a job of ``kind`` and answer 202 with it."""
    now = request.clock.wall()
    ready = now + request.settings.export_delay
    item = request.collection(EXPORTS.name).create(
        {
            "type": kind,
            "filters": {k: v for k, v in filters.items() if v is not None},
            "_readyAt": ready,
            "_expiresAt": ready + request.settings.export_link_ttl,
            "_token": secrets.token_hex(8),
        }
    )
    return accepted(shown(request, item))
