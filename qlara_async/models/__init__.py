"""Request and response models, one module per area of the API, and the functions that validate
and encode them.

Requests are ``msgspec.Struct`` s that encode to exactly the JSON the API documents;
``prepare_message`` is the one place a message is checked, given an id and encoded.
"""

from __future__ import annotations

from ._base import MAX_ID, RcsBodyType, ScheduledDate, format_scheduled_date
from ._prepare import (
    RCS_SEND_PATH,
    SMS_SEND_PATH,
    WHATSAPP_SEND_PATH,
    Message,
    PreparedLegacySms,
    PreparedMessage,
    encode_body,
    prepare_legacy_sms,
    prepare_message,
    validate_message,
)
from ._validation import MAX_CAMPAIGN_ID_LENGTH, checked, validate_legacy_request
from .files import decode_download_url
from .rcs import (
    RcsBody,
    RcsCard,
    RcsCardBody,
    RcsCarousel,
    RcsCarouselBody,
    RcsMessage,
    RcsSuggestion,
    RcsText,
    RcsTextBody,
)
from .send import (
    ChannelResults,
    RcsResult,
    SendResult,
    SmsResult,
    WhatsAppResult,
    decode_send_result,
)
from .sms import (
    Credit,
    LegacySmsMessage,
    LegacySmsRequest,
    LegacySmsResult,
    SmsMessage,
    decode_credit,
    decode_legacy_sms_result,
)
from .whatsapp import (
    FallbackRcs,
    FallbackSms,
    PhoneNumber,
    WhatsAppAudio,
    WhatsAppBody,
    WhatsAppDocument,
    WhatsAppImage,
    WhatsAppLocation,
    WhatsAppMessage,
    WhatsAppReaction,
    WhatsAppSticker,
    WhatsAppTemplate,
    WhatsAppText,
    WhatsAppVideo,
    decode_phone_number,
    decode_phone_numbers,
)

__all__ = [
    "MAX_ID",
    "checked",
    "encode_body",
    "ChannelResults",
    "Credit",
    "FallbackRcs",
    "FallbackSms",
    "LegacySmsMessage",
    "LegacySmsRequest",
    "LegacySmsResult",
    "MAX_CAMPAIGN_ID_LENGTH",
    "Message",
    "PhoneNumber",
    "PreparedLegacySms",
    "PreparedMessage",
    "RCS_SEND_PATH",
    "RcsBody",
    "RcsBodyType",
    "RcsCard",
    "RcsCardBody",
    "RcsCarousel",
    "RcsCarouselBody",
    "RcsMessage",
    "RcsResult",
    "RcsSuggestion",
    "RcsText",
    "RcsTextBody",
    "SMS_SEND_PATH",
    "ScheduledDate",
    "SendResult",
    "SmsMessage",
    "SmsResult",
    "WHATSAPP_SEND_PATH",
    "WhatsAppAudio",
    "WhatsAppBody",
    "WhatsAppDocument",
    "WhatsAppImage",
    "WhatsAppLocation",
    "WhatsAppMessage",
    "WhatsAppReaction",
    "WhatsAppResult",
    "WhatsAppSticker",
    "WhatsAppTemplate",
    "WhatsAppText",
    "WhatsAppVideo",
    "decode_credit",
    "decode_download_url",
    "decode_legacy_sms_result",
    "decode_phone_number",
    "decode_phone_numbers",
    "decode_send_result",
    "format_scheduled_date",
    "prepare_legacy_sms",
    "prepare_message",
    "validate_legacy_request",
    "validate_message",
]
