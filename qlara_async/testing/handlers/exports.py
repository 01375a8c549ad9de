"""Exports: ``/partner-gateway/v1/exports`` (the asynchronous export workflow).

The reference: contacts and delivery reports are requested here (the message history at
``POST .../messages/history/export``); the list shows each job with ``status`` ``PENDING``,
``COMPLETED`` or ``EXPIRED``; ``GET .../exports/{exportId}`` returns a download URL;
``POST .../exports/{exportId}`` regenerates an expired link. Where it is silent, the simulator
decides (timing in ``_exports_jobs``):

* a request answers ``202`` with the job ``{"id", "type", "filters", "creationDate", "status",
  "isAvailableForDownload", "expirationDate"}``; ``type`` is ``CONTACTS``, ``DELIVERY_REPORTS``
  or ``MESSAGE_HISTORY``; the delivery-reports export takes ``from``/``to`` in the query;
* ``GET .../{exportId}`` of a ``COMPLETED`` job answers ``{"id", "downloadUrl",
  "expirationDate"}``; of a ``PENDING`` or ``EXPIRED`` one it is ``409 Conflict`` saying which
  (the job exists, its link does not), and of an unknown id 404;
* ``POST .../{exportId}`` gives a ``COMPLETED`` or ``EXPIRED`` job a new link (a new URL, live for
  ``export_link_ttl`` seconds) and answers it like ``GET``; a ``PENDING`` job is 409;
* request bodies are empty (a JSON object ``{}`` is accepted too); the URLs are not served.
"""

from __future__ import annotations

import secrets
from typing import Final

from ._api import (
    BadRequest,
    Conflict,
    Reply,
    Request,
    json,
    paginate_offset,
    route,
)
from ._exports_jobs import COMPLETED, EXPORTS, PENDING, link, request_export, shown, state
from ._messages_query import date_range

__all__: list[str] = []

PATH: Final = "/partner-gateway/v1/exports"


def no_body(request: Request) -> None:
    """These requests take their filters in the query; a body, if any, must be ``{}``."""
    if request.body.strip() not in (b"", b"{}"):
        raise BadRequest("This request takes no body: pass the filters as query parameters")


@route("GET", PATH)
def _list(request: Request) -> Reply:
    jobs = [shown(request, item) for item in request.collection(EXPORTS.name).list()]
    return paginate_offset(request, jobs)


@route("POST", PATH + "/contacts")
def _contacts(request: Request) -> Reply:
    no_body(request)
    return request_export(request, "CONTACTS", {})


@route("POST", PATH + "/delivery-reports")
def _delivery_reports(request: Request) -> Reply:
    no_body(request)
    date_range(request)  # validated; the filters are kept as written
    filters = {"from": request.query.get("from"), "to": request.query.get("to")}
    return request_export(request, "DELIVERY_REPORTS", filters)


@route("GET", PATH + "/{exportId}")
def _get(request: Request) -> Reply:
    item = request.collection(EXPORTS.name).get(request.path_int("exportId"))
    status = state(request, item)
    if status != COMPLETED:
        why = "is not ready yet" if status == PENDING else "has an expired link: regenerate it"
        raise Conflict(f"Export {item['id']} {why} (status {status}).")
    return json(link(item))


@route("POST", PATH + "/{exportId}")
def _regenerate(request: Request) -> Reply:
    no_body(request)
    jobs = request.collection(EXPORTS.name)
    item = jobs.get(request.path_int("exportId"))
    if state(request, item) == PENDING:
        raise Conflict(f"Export {item['id']} is not ready yet (status PENDING).")
    fresh = jobs.update(
        item["id"],
        {
            "_expiresAt": request.clock.wall() + request.settings.export_link_ttl,
            "_token": secrets.token_hex(8),
        },
    )
    return json(link(fresh))
