"""The simulator's endpoints, one module per API area, all registered on one router.

Each area module registers its handlers with :func:`~._api.route` when it is imported, so an area
is live once it is imported here. Adding an area is one new module and one line below; see the
recipe in the :mod:`qlara_async.testing` docstring. Handler modules import only :mod:`._api` (and
their own private helpers, e.g. ``_send_schemas``), never the simulator's internals.
"""

from __future__ import annotations

# One line per area, each on its own line so areas added in parallel do not conflict. Importing
# a module registers its routes.
from . import account as account
from . import api_keys as api_keys
from . import campaigns as campaigns
from . import contacts as contacts
from . import exports as exports
from . import inbox as inbox
from . import media as media
from . import messages as messages
from . import send as send
from . import templates as templates
from . import webhooks as webhooks
from ._api import ROUTER

__all__ = ["ROUTER"]
