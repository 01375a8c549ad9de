"""``client.api_keys``: the account's API keys (``/partner-gateway/v1/authentication``)."""

from __future__ import annotations

from collections.abc import Sequence

from .._pagination import AsyncPaginator
from .._resource import Resource, as_list, path_param
from ..models import checked
from ..models.api_keys import ApiKey, ApiKeyCreate, ApiKeyCreated

__all__ = ["ApiKeysResource"]

_PATH = "/partner-gateway/v1/authentication"


class ApiKeysResource(Resource):
    """API keys: ``list``, ``create``, ``find``, ``delete``."""

    def list(self, *, page_size: int | None = None) -> AsyncPaginator[ApiKey]:
        """Every key of the account, fetched page by page as you iterate."""
        return self._api.paginate(_PATH, item=ApiKey, page_size=page_size)

    async def create(
        self, *, username: str | None = None, operations: Sequence[str] | None = None
    ) -> ApiKeyCreated:
        """Make a key (``POST``). The answer's ``api_key`` is the only time the secret is
        shown. Not retried once it may have arrived (a retry could make a second key)."""
        body = checked(
            ApiKeyCreate(username=username, operations=as_list("operations", operations))
        )
        return await self._api.post(_PATH, body=body, cast=ApiKeyCreated)

    async def find(self, value: str) -> ApiKey:
        """The key whose secret is ``value`` (``GET .../authentication/{value}``). The value
        is masked in this library's logs and errors."""
        return await self._api.get(
            f"{_PATH}/{path_param('value', value)}",
            cast=ApiKey,
            display_path=f"{_PATH}/{{value}}",
        )

    async def delete(self, id: int | str) -> None:
        """Delete a key (``DELETE .../authentication/{id}``, 204)."""
        await self._api.delete(f"{_PATH}/{path_param('id', id)}")
