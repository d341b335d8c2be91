"""What every viewset of the future API shares: the reference's problem codes in errors, list errors by
index, the request body, and the answer with a chain's receipt."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from core.problems import PROBLEM_CONTENT_TYPE, problem_body
from orders.api.base import ApiViewSet, json_body
from orders.api.future.output import chain_url
from orders.chains import AltinnProblem, ChainReceipt


def request_body(request: Request) -> Any:
    """The parsed JSON body (415 without a Content-Type, 413 over the size limit)."""
    return json_body(request, what="request")


def receipt_response(receipt: ChainReceipt) -> Response:
    """201 with the receipt of a new chain, 200 with the stored one for a repeat; Location: the chain."""
    return Response(
        receipt.body,
        status=status.HTTP_201_CREATED if receipt.created else status.HTTP_200_OK,
        headers={"Location": chain_url(receipt.chain_id)},
    )


def _indexed_as_lists(detail: Any) -> Any:
    if isinstance(detail, dict):
        if detail and all(isinstance(key, int) for key in detail):
            items: list[Any] = [{} for _ in range(max(detail) + 1)]
            for index, value in detail.items():
                items[index] = _indexed_as_lists(value)
            return items
        return {key: _indexed_as_lists(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_indexed_as_lists(item) for item in detail]
    return detail


class FutureViewSet(ApiViewSet):
    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, serializers.ValidationError):
            # DRF reports a list's item errors as {index: errors}; as a list they get "reminders[0]" paths.
            exc.detail = _indexed_as_lists(exc.detail)
        if isinstance(exc, AltinnProblem):
            body = problem_body(
                exc.status_code,
                exc.title,
                exc.detail,
                problem_type=exc.problem_type if exc.code else "about:blank",
                code=exc.code,
                extra={"errors": exc.errors} if exc.errors else None,
            )
            response = Response(body, status=exc.status_code, content_type=PROBLEM_CONTENT_TYPE)
            retry_after = getattr(exc, "retry_after", None)
            if retry_after is not None:
                response["Retry-After"] = str(retry_after)
            return response
        return super().handle_exception(exc)
