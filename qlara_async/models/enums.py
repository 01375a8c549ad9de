"""What the docs enumerate, as ``str`` enums.

Response fields stay plain strings (or ints) so a value the API adds later still decodes; these
enums compare equal to the wire values (``status == WhatsAppStatus.DELIVERED``) and are accepted
wherever a request takes one of them.
"""

from __future__ import annotations

from enum import Enum, IntEnum

__all__ = [
    "CampaignStatus",
    "Channel",
    "DeliveryStatusCode",
    "ExportStatus",
    "SendingMode",
    "WhatsAppCategory",
    "WhatsAppStatus",
    "WhatsAppTemplateStatus",
]


class Channel(str, Enum):
    """A messaging channel, as the partner gateway spells it."""

    SMS = "SMS"
    RCS = "RCS"
    WHATSAPP = "WHATSAPP"


class DeliveryStatusCode(IntEnum):
    """SMS and RCS delivery status codes."""

    DELIVERED = 3
    NOT_DELIVERED = 6


class WhatsAppStatus(str, Enum):
    """WhatsApp delivery statuses, in the order a message moves through them."""

    SENT = "SENT"
    DELIVERED = "DELIVERED"
    READ = "READ"
    RECEIVED = "RECEIVED"
    ERROR = "ERROR"
    EXPIRED = "EXPIRED"
    UNKNOWN = "UNKNOWN"


class SendingMode(str, Enum):
    """A campaign's channels, fallbacks included."""

    SMS = "SMS"
    RCS = "RCS"
    RCS_SMS = "RCS_SMS"
    WHATSAPP = "WHATSAPP"
    WHATSAPP_SMS = "WHATSAPP_SMS"
    WHATSAPP_RCS = "WHATSAPP_RCS"
    WHATSAPP_RCS_SMS = "WHATSAPP_RCS_SMS"


class CampaignStatus(IntEnum):
    """A campaign's state."""

    DRAFT = 0
    SCHEDULED = 1
    SENDING = 2
    COMPLETED = 3
    ERROR = 4


class WhatsAppCategory(str, Enum):
    """What a WhatsApp template is for."""

    MARKETING = "MARKETING"
    UTILITY = "UTILITY"
    AUTHENTICATION = "AUTHENTICATION"


class WhatsAppTemplateStatus(str, Enum):
    """Meta's review state of a WhatsApp template."""

    APPROVED = "APPROVED"
    PENDING = "PENDING"
    REJECTED = "REJECTED"
    PAUSED = "PAUSED"
    DISABLED = "DISABLED"


class ExportStatus(str, Enum):
    """An export job's state."""

    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    EXPIRED = "EXPIRED"
