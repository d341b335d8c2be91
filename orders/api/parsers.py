"""The JSON parser of the orders API: the request size limit, enforced where DRF reads the body, and
no text PostgreSQL cannot store."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.utils import json

from core.problems import MAX_LISTED_ERRORS, more_errors_message, not_listed

MSG_UNSTORABLE_TEXT = "Must not contain NUL characters or unpaired UTF-16 surrogates."

# PostgreSQL's text and jsonb have no NUL, and UTF-8 (the database's and the answers' encoding) has no
# lone surrogate; JSON carries both as escapes ("\u0000", "\ud800"), and Python's JSON decoder keeps
# them. A surrogate *pair* is decoded to one character and is fine.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_paths(data: Any, path: str = "") -> Iterator[str]:
    """The JSON path of every string (value or property name) in ``data`` that holds unstorable text.

    A bad property name is reported at the path of its object (the name itself cannot be shown).
    """
    if isinstance(data, str):
        if UNSTORABLE.search(data):
            yield path
    elif isinstance(data, dict):
        for key, value in data.items():
            if UNSTORABLE.search(key):
                yield path
            else:
                yield from unstorable_paths(value, f"{path}.{key}" if path else key)
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from unstorable_paths(item, f"{path}[{index}]")


def refuse_unstorable_text(data: Any, text: str) -> None:
    """Raise a 400 naming every string of the parsed document ``data`` that PostgreSQL cannot store.

    Checked here, on the whole document, rather than per field, because fields the API ignores are
    stored too (an order chain keeps its request) and a new field must not bring the 500 back.
    """
    # Such characters can only come from \u escapes (JSON forbids raw control characters in strings, and
    # the decoders refuse surrogates); without one the walk is skipped.
    if "\\u" not in text and not UNSTORABLE.search(text):
        return
    errors: dict[str, Any] = {}
    more = 0
    last: str | None = None
    for path in unstorable_paths(data):
        if path == last:  # several bad property names of one object
            continue
        last = path
        if len(errors) < MAX_LISTED_ERRORS:
            errors[path] = [MSG_UNSTORABLE_TEXT]
        else:
            more += 1
    if more:
        errors.setdefault("", []).append(not_listed(more_errors_message(more)))
    if errors:
        raise ValidationError(errors)


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def payload_too_large() -> PayloadTooLarge:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return PayloadTooLarge(f"The request body is larger than the limit of {limit} bytes.")


class BoundedJSONParser(JSONParser):
    """JSON bodies up to ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes (413 beyond), parse errors as clear 400s.

    DRF normally hands JSON parsers ``request.body``, where Django enforces the limit itself (the views
    turn its RequestDataTooBig into this 413); the checks here hold when a stream is passed instead: the
    declared length first (nothing read), then at most one byte more than the limit.
    """

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        parser_context = parser_context or {}
        limit: int | None = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        request = parser_context.get("request")
        if limit is not None and request is not None:
            try:
                declared = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                declared = 0
            if declared > limit:
                raise payload_too_large()
        raw = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(raw) > limit:
            raise payload_too_large()
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = raw.decode(encoding)
            data = json.loads(text)
        except UnicodeDecodeError as exc:
            raise ParseError(f"The request body is not valid {encoding}.") from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        except RecursionError as exc:
            # Thousands of nested brackets exhaust the parser's stack; that is a bad request, not a crash.
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc
        refuse_unstorable_text(data, text)
        return data
