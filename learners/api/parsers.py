"""Reading the activity API's body so that no body can make the server fail."""

from __future__ import annotations

import json
from typing import Any

from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser

# 1000 events at the longest the schema allows, every character escaped, stay below this; a
# bigger body is refused before it is read into memory.
MAX_BODY_BYTES = 6 * 1024 * 1024


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = (
        f"The body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB; "
        "send fewer events per request."
    )
    default_code = "body_too_large"


class BoundedJSONParser(BaseParser):
    """JSON, refused with a 413 above :data:`MAX_BODY_BYTES` and with a 400 when it nests too
    deeply for the decoder (DRF's parser lets that ``RecursionError`` through as a 500).

    Not a ``JSONParser`` subclass on purpose: DRF reads the whole body for those, through
    Django's size check, which answers an oversized body with an HTML 400.
    """

    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        data = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
        if len(data) > MAX_BODY_BYTES:
            raise BodyTooLarge
        encoding = (parser_context or {}).get("encoding", "utf-8")
        try:
            text = data.decode(encoding)
            return json.loads(text, parse_constant=_refuse_constant)
        except RecursionError:
            raise ParseError("The JSON nests too deeply; events are flat objects.") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")
