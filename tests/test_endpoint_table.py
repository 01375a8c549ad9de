"""CONTRACT.md's endpoint table, row by row: every method exists, is reached as the table shows
(path ids positional, keywords for the rest) and sends the documented method and path."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from ._fakes import SMS_OK, make_client

pytestmark = pytest.mark.anyio

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
CSV = b"phone,name\n+393201234567,Marco\n"
VCARD = b"BEGIN:VCARD\nVERSION:3.0\nEND:VCARD\n"
SMS = {"destination": "+393201234567", "sender": "MyBrand", "body": "Ciao"}
GW = "/partner-gateway/v1"

# (id, call, method, path relative to the base URL)
ROWS: list[tuple[str, Callable[[Any], Any], str, str]] = [
    ("sms.send", lambda c: c.sms.send(**SMS), "POST", "/message-server/sms/send"),
    (
        "sms.send_legacy",
        lambda c: c.sms.send_legacy(
            messages=[{"destinations": ["+393201234567"], "sender": "MyBrand", "body": "x"}]
        ),
        "POST",
        "/services/sms/send",
    ),
    ("sms.credit", lambda c: c.sms.credit(), "GET", "/services/sms/credit"),
    (
        "rcs.send",
        lambda c: c.rcs.send(destination="+393201234567", agent_id=10, template_id=42),
        "POST",
        "/message-server/rcs/send",
    ),
    (
        "rcs.templates.list",
        lambda c: c.rcs.templates.list(),
        "GET",
        "/message-server/rcs/templates",
    ),
    (
        "rcs.templates.create",
        lambda c: c.rcs.templates.create(name="t", type="TEXT", body={"text": "x"}),
        "POST",
        "/message-server/rcs/templates",
    ),
    (
        "rcs.templates.get",
        lambda c: c.rcs.templates.get(7),
        "GET",
        "/message-server/rcs/templates/7",
    ),
    (
        "rcs.templates.update",
        lambda c: c.rcs.templates.update(7, name="t", type="TEXT", body={"text": "x"}),
        "PUT",
        "/message-server/rcs/templates/7",
    ),
    (
        "rcs.templates.delete",
        lambda c: c.rcs.templates.delete(7),
        "DELETE",
        "/message-server/rcs/templates/7",
    ),
    (
        "whatsapp.send",
        lambda c: c.whatsapp.send(
            destination="+393201234567", phone_number_id=5, template={"id": 42}
        ),
        "POST",
        "/message-server/whatsapp/send",
    ),
    (
        "whatsapp.phone_numbers.list",
        lambda c: c.whatsapp.phone_numbers.list(),
        "GET",
        "/message-server/whatsapp/phone-numbers",
    ),
    (
        "whatsapp.phone_numbers.get",
        lambda c: c.whatsapp.phone_numbers.get(5),
        "GET",
        "/message-server/whatsapp/phone-numbers/5",
    ),
    (
        "whatsapp.templates.list",
        lambda c: c.whatsapp.templates.list(),
        "GET",
        "/message-server/whatsapp/templates",
    ),
    (
        "whatsapp.templates.create",
        lambda c: c.whatsapp.templates.create(
            phone_number_id=5, name="t_1", lang="it", category="UTILITY", body="x"
        ),
        "POST",
        "/message-server/whatsapp/templates",
    ),
    (
        "whatsapp.templates.get",
        lambda c: c.whatsapp.templates.get(3),
        "GET",
        "/message-server/whatsapp/templates/3",
    ),
    (
        "whatsapp.templates.update",
        lambda c: c.whatsapp.templates.update(3, footer="f"),
        "PATCH",
        "/message-server/whatsapp/templates/3",
    ),
    (
        "whatsapp.templates.delete",
        lambda c: c.whatsapp.templates.delete(3),
        "DELETE",
        "/message-server/whatsapp/templates/3",
    ),
    ("files.download_url", lambda c: c.files.download_url("a/b/c"), "GET", "/files/a/b/c"),
    ("contacts.list", lambda c: c.contacts.list(), "GET", f"{GW}/contacts"),
    (
        "contacts.create",
        lambda c: c.contacts.create(phone="+393201234567"),
        "POST",
        f"{GW}/contacts",
    ),
    ("contacts.delete", lambda c: c.contacts.delete([1]), "DELETE", f"{GW}/contacts"),
    ("contacts.get", lambda c: c.contacts.get(1), "GET", f"{GW}/contacts/1"),
    ("contacts.update", lambda c: c.contacts.update(1, city="Roma"), "PUT", f"{GW}/contacts/1"),
    ("contacts.upload", lambda c: c.contacts.upload(CSV), "POST", f"{GW}/contacts/upload"),
    (
        "contacts.confirm_upload",
        lambda c: c.contacts.confirm_upload(mappings=[{}], list_id=1),
        "POST",
        f"{GW}/contacts/mapped/file",
    ),
    (
        "contacts.upload_vcard",
        lambda c: c.contacts.upload_vcard(VCARD),
        "POST",
        f"{GW}/contacts/upload/vcard",
    ),
    (
        "contacts.confirm_vcard",
        lambda c: c.contacts.confirm_vcard(mappings=[{}], list_id=1),
        "POST",
        f"{GW}/contacts/mapped/vcard",
    ),
    ("contact_lists.list", lambda c: c.contact_lists.list(), "GET", f"{GW}/contacts/list"),
    (
        "contact_lists.create",
        lambda c: c.contact_lists.create(name="L"),
        "POST",
        f"{GW}/contacts/list",
    ),
    (
        "contact_lists.delete",
        lambda c: c.contact_lists.delete([1]),
        "DELETE",
        f"{GW}/contacts/list",
    ),
    ("contact_lists.get", lambda c: c.contact_lists.get(1), "GET", f"{GW}/contacts/list/1"),
    (
        "contact_lists.update",
        lambda c: c.contact_lists.update(1, name="M"),
        "PUT",
        f"{GW}/contacts/list/1",
    ),
    (
        "contact_lists.add_contacts",
        lambda c: c.contact_lists.add_contacts(list_ids=[1], contact_ids=[2]),
        "POST",
        f"{GW}/contacts/list/contacts",
    ),
    (
        "contact_lists.remove_contacts",
        lambda c: c.contact_lists.remove_contacts(list_ids=[1], contact_ids=[2]),
        "DELETE",
        f"{GW}/contacts/list/contacts",
    ),
    (
        "contact_lists.remove_contact",
        lambda c: c.contact_lists.remove_contact(2),
        "DELETE",
        f"{GW}/contacts/list/contacts/2",
    ),
    (
        "contact_lists.members",
        lambda c: c.contact_lists.members(1),
        "GET",
        f"{GW}/contacts/list/1/contacts",
    ),
    ("campaigns.list", lambda c: c.campaigns.list(), "GET", f"{GW}/campaigns"),
    (
        "campaigns.create",
        lambda c: c.campaigns.create(
            name="P", sending_mode="SMS", destination_type=2, destinations=["+393201234567"]
        ),
        "POST",
        f"{GW}/campaigns",
    ),
    ("campaigns.get", lambda c: c.campaigns.get(1), "GET", f"{GW}/campaigns/1"),
    ("campaigns.update", lambda c: c.campaigns.update(1, name="Q"), "PUT", f"{GW}/campaigns/1"),
    ("campaigns.delete", lambda c: c.campaigns.delete(1), "DELETE", f"{GW}/campaigns/1"),
    (
        "campaigns.calculate_cost",
        lambda c: c.campaigns.calculate_cost(1),
        "POST",
        f"{GW}/campaigns/1/calculateGoal",
    ),
    ("campaigns.price", lambda c: c.campaigns.price(1), "GET", f"{GW}/campaigns/1/price"),
    ("campaigns.confirm", lambda c: c.campaigns.confirm(1), "PUT", f"{GW}/campaigns/1/confirm"),
    ("campaigns.stats", lambda c: c.campaigns.stats(), "GET", f"{GW}/campaigns/stats"),
    (
        "webhooks.configure",
        lambda c: c.webhooks.configure("https://example.com/h"),
        "POST",
        f"{GW}/webhooks/delivery-status",
    ),
    ("webhooks.get", lambda c: c.webhooks.get(), "GET", f"{GW}/webhooks/delivery-status"),
    (
        "webhooks.update",
        lambda c: c.webhooks.update("https://example.com/h"),
        "PUT",
        f"{GW}/webhooks/delivery-status",
    ),
    ("webhooks.delete", lambda c: c.webhooks.delete(), "DELETE", f"{GW}/webhooks/delivery-status"),
    ("messages.batch_status", lambda c: c.messages.batch_status(), "GET", f"{GW}/messages/status"),
    (
        "messages.status",
        lambda c: c.messages.status("r1", channel="SMS"),
        "GET",
        f"{GW}/messages/status/r1",
    ),
    ("messages.rcs_status", lambda c: c.messages.rcs_status("m1"), "GET", f"{GW}/rcs/messages/m1"),
    (
        "messages.whatsapp_status",
        lambda c: c.messages.whatsapp_status("m1"),
        "GET",
        f"{GW}/whatsapp/messages/m1",
    ),
    ("messages.history", lambda c: c.messages.history(), "GET", f"{GW}/messages/history"),
    (
        "messages.export_history",
        lambda c: c.messages.export_history(),
        "POST",
        f"{GW}/messages/history/export",
    ),
    ("exports.list", lambda c: c.exports.list(), "GET", f"{GW}/exports"),
    (
        "exports.export_contacts",
        lambda c: c.exports.export_contacts(),
        "POST",
        f"{GW}/exports/contacts",
    ),
    (
        "exports.export_delivery_reports",
        lambda c: c.exports.export_delivery_reports(),
        "POST",
        f"{GW}/exports/delivery-reports",
    ),
    ("exports.get", lambda c: c.exports.get(4), "GET", f"{GW}/exports/4"),
    ("exports.regenerate", lambda c: c.exports.regenerate(4), "POST", f"{GW}/exports/4"),
    ("inbox.conversations", lambda c: c.inbox.conversations(), "GET", f"{GW}/inbox/conversations"),
    (
        "inbox.reply",
        lambda c: c.inbox.reply("c1", text="hi"),
        "POST",
        f"{GW}/inbox/conversations/reply",
    ),
    (
        "inbox.messages",
        lambda c: c.inbox.messages("c1"),
        "GET",
        f"{GW}/inbox/conversations/c1/messages",
    ),
    (
        "inbox.mark_read",
        lambda c: c.inbox.mark_read("c1"),
        "PATCH",
        f"{GW}/inbox/conversations/c1/read",
    ),
    (
        "inbox.archive",
        lambda c: c.inbox.archive("c1"),
        "PATCH",
        f"{GW}/inbox/conversations/c1/archive",
    ),
    (
        "inbox.unarchive",
        lambda c: c.inbox.unarchive("c1"),
        "PATCH",
        f"{GW}/inbox/conversations/c1/unarchive",
    ),
    ("media.upload", lambda c: c.media.upload(PNG), "POST", f"{GW}/media"),
    ("media.list", lambda c: c.media.list(), "GET", f"{GW}/media"),
    ("media.get", lambda c: c.media.get(8), "GET", f"{GW}/media/8"),
    ("media.delete", lambda c: c.media.delete(8), "DELETE", f"{GW}/media/8"),
    ("subscription.get", lambda c: c.subscription.get(), "GET", "/v1/partner-gateway/subscription"),
    (
        "subscription.contacts",
        lambda c: c.subscription.contacts(),
        "GET",
        "/v1/partner-gateway/subscription/contacts",
    ),
    (
        "subscription.credit",
        lambda c: c.subscription.credit(),
        "GET",
        "/v1/partner-gateway/subscription/credit",
    ),
    ("socials.list", lambda c: c.socials.list(), "GET", "/v1/partner-gateway/socials"),
    (
        "socials.get",
        lambda c: c.socials.get("facebook"),
        "GET",
        "/v1/partner-gateway/socials/facebook",
    ),
    ("api_keys.list", lambda c: c.api_keys.list(), "GET", f"{GW}/authentication"),
    ("api_keys.create", lambda c: c.api_keys.create(username="u"), "POST", f"{GW}/authentication"),
    ("api_keys.find", lambda c: c.api_keys.find("sk-1"), "GET", f"{GW}/authentication/sk-1"),
    ("api_keys.delete", lambda c: c.api_keys.delete(2), "DELETE", f"{GW}/authentication/2"),
]


def _answer(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path.endswith("/send") and "services" not in path:
        return httpx.Response(200, json=SMS_OK)
    if request.method == "DELETE" or path.endswith(("/read", "/archive", "/unarchive")):
        return httpx.Response(204)
    if path.endswith("/download") or "/files/" in path:
        return httpx.Response(200, json={"url": "https://files.test/x"})
    if path.endswith("/credit"):
        return httpx.Response(200, json={"credit": 1.0})
    # One object that decodes as any of the library's response Structs (unknown fields are
    # ignored), and as a one-item page for the collections.
    return httpx.Response(200, json={"id": 1, "data": [{"id": 1}], "pagination": {"total": 1}})


def test_the_table_covers_the_contract() -> None:
    """79 rows: every method of CONTRACT.md's table is here once."""
    assert len(ROWS) == len({row[0] for row in ROWS}) == 79


@pytest.mark.parametrize(("name", "call", "method", "path"), ROWS, ids=[r[0] for r in ROWS])
async def test_each_endpoint_sends_its_method_and_path(
    name: str, call: Callable[[Any], Any], method: str, path: str
) -> None:
    """The call reaches ``method path`` (a collection when iterated, the rest when awaited)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _answer(request)

    client, _, _ = make_client(handler)
    async with client:
        result = call(client)
        if inspect.isawaitable(result):
            await result
        else:
            [item async for item in result]
    assert seen, name
    assert (seen[0].method, seen[0].url.path) == (method, "/api" + path)
