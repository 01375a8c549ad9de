"""``client.files``: temporary download URLs for media received in inbound messages."""

from __future__ import annotations

from .._exceptions import ValidationError
from .._resource import Resource, path_param
from ..models import decode_download_url

__all__ = ["DEFAULT_EXPIRE_MINUTES", "FilesResource"]

DEFAULT_EXPIRE_MINUTES = 180
"""How long a download URL stays valid unless asked otherwise (the docs' example)."""


class FilesResource(Resource):
    """Inbound media: ``download_url``."""

    async def download_url(
        self, media_key: str, expire_minutes: int = DEFAULT_EXPIRE_MINUTES
    ) -> str:
        """A pre-signed URL for an inbound message's media (``GET /files/{mediaKey}``).

        ``media_key`` is the ``mediaKey`` of an INBOUND callback, e.g.
        ``b394ab72/efd4987c/39b4879f6fed01f0d622453be1488c93``; its ``/`` separators are kept in
        the path. The URL expires after ``expire_minutes``.
        """
        if not isinstance(media_key, str):
            raise ValidationError(
                f"media_key must be a string, got {type(media_key).__name__}", field="mediaKey"
            )
        if (
            not isinstance(expire_minutes, int)
            or isinstance(expire_minutes, bool)
            or expire_minutes <= 0
        ):
            raise ValidationError(
                f"expire_minutes must be a positive integer, got {expire_minutes!r}",
                field="expireMinutes",
            )
        path = f"/files/{path_param('mediaKey', media_key, safe='/')}"
        return await self._api.get(
            path,
            cast=str,
            params={"expireMinutes": expire_minutes},
            decoder=decode_download_url,
        )
