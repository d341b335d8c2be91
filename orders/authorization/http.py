"""The HTTP backend of authorization: XACML JSON profile decision requests to a decision point (PDP).

It asks as the service we replace asks Altinn's PDP: one multi-decision request per batch of at most
``NOTIFICATIONS_AUTHORIZATION_BATCH_SIZE`` (500) questions, ``POST``\\ed as JSON to
``NOTIFICATIONS_AUTHORIZATION_URL`` (Altinn: ``.../authorization/api/v1/decision``)::

    {"Request": {
        "ReturnPolicyIdList": false,
        "AccessSubject": [{"Id": "s1", "Attribute": [
            {"AttributeId": "urn:altinn:userid", "Value": "20001", "IncludeInResult": true, ...}]}],
        "Action": [{"Id": "action", "Attribute": [
            {"AttributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id", "Value": "read", ...}]}],
        "Resource": [{"Id": "r1", "Attribute": [
            {"AttributeId": "urn:altinn:resource", "Value": "example-service", ...},
            {"AttributeId": "urn:altinn:partyid", "Value": "50001", "IncludeInResult": true, ...}]}],
        "MultiRequests": {"RequestReference": [{"ReferenceId": ["s1", "action", "r1"]}]}}}

A person is the subject ``urn:altinn:userid`` when the register gave a user id, otherwise
``urn:altinn:person:identifier-no`` (the NIN). The organization is the resource's ``urn:altinn:partyid``
when known, otherwise ``urn:altinn:organization:identifier-no``. A resource id of the form
``app_{org}_{app}`` becomes the ``urn:altinn:org`` and ``urn:altinn:app`` attributes, as there. The answer
is ``{"Response": [{"Decision": "Permit", "Category": [...]}, ...]}``; a result is matched to its question
by the attributes sent with ``IncludeInResult``. Only ``Permit`` permits: ``Deny``, ``NotApplicable`` and
``Indeterminate`` drop the contact point.

When ``NOTIFICATIONS_AUTHORIZATION_SUBSCRIPTION_KEY`` is set it is sent as ``Ocp-Apim-Subscription-Key``
(the API gateway in front of Altinn's platform). Every request goes through the outbound guard
(``core.outbound``): allow the decision point's network in ``NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS``.
Anything other than a well-formed 2xx answer within the timeout raises ``AuthorizationUnavailable``, and
the order's processing is retried later like a registry outage: nothing is lost, and nobody is notified on a
guess.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from core.outbound import GuardedClient, OutboundRequestError, SharedClientBackend, guarded_request
from orders.authorization.base import AccessQuestion, AuthorizationUnavailable

logger = logging.getLogger(__name__)

ISSUER = "Altinn"
STRING = "http://www.w3.org/2001/XMLSchema#string"
ACTION_ID = "urn:oasis:names:tc:xacml:1.0:action:action-id"
USER_ID = "urn:altinn:userid"
PERSON_ID = "urn:altinn:person:identifier-no"
RESOURCE = "urn:altinn:resource"
PARTY_ID = "urn:altinn:partyid"
ORGANIZATION_ID = "urn:altinn:organization:identifier-no"
APP_ORG = "urn:altinn:org"
APP_APP = "urn:altinn:app"
# A decision for 500 pairs is a few hundred kilobytes; the cap only stops a runaway answer.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024


def _attribute(attribute_id: str, value: str, *, include: bool = False) -> dict[str, Any]:
    return {
        "AttributeId": attribute_id,
        "Value": value,
        "DataType": STRING,
        "Issuer": ISSUER,
        "IncludeInResult": include,
    }


def _subject_key(question: AccessQuestion) -> tuple[str, str]:
    if question.user_id is not None:
        return USER_ID, str(question.user_id)
    assert question.national_identity_number is not None
    return PERSON_ID, question.national_identity_number


def _owner_key(question: AccessQuestion) -> tuple[str, str]:
    if question.party_id is not None:
        return PARTY_ID, str(question.party_id)
    return ORGANIZATION_ID, question.organization_number


def _resource_attributes(resource_id: str) -> list[dict[str, Any]]:
    parts = resource_id.split("_")
    if resource_id.startswith("app_") and len(parts) >= 3:
        return [_attribute(APP_ORG, parts[1]), _attribute(APP_APP, "_".join(parts[2:]))]
    return [_attribute(RESOURCE, resource_id)]


def decision_request(questions: Sequence[AccessQuestion], *, resource_id: str, action: str) -> dict[str, Any]:
    """The XACML JSON multi-decision request for one batch of questions."""
    subjects: dict[tuple[str, str], str] = {}
    owners: dict[tuple[str, str], str] = {}
    references: list[dict[str, list[str]]] = []
    for question in questions:
        subject = subjects.setdefault(_subject_key(question), f"s{len(subjects) + 1}")
        owner = owners.setdefault(_owner_key(question), f"r{len(owners) + 1}")
        references.append({"ReferenceId": [subject, "action", owner]})
    return {
        "Request": {
            "ReturnPolicyIdList": False,
            "AccessSubject": [
                {"Id": category, "Attribute": [_attribute(kind, value, include=True)]}
                for (kind, value), category in subjects.items()
            ],
            "Action": [{"Id": "action", "Attribute": [_attribute(ACTION_ID, action)]}],
            "Resource": [
                {
                    "Id": category,
                    "Attribute": [*_resource_attributes(resource_id), _attribute(kind, value, include=True)],
                }
                for (kind, value), category in owners.items()
            ],
            "MultiRequests": {"RequestReference": references},
        }
    }


class _MalformedResponse(Exception):
    pass


def _permitted_pairs(body: Any) -> set[tuple[tuple[str, str], tuple[str, str]]]:
    """(subject, owner) attribute pairs of the results that are Permit."""
    if not isinstance(body, dict) or not isinstance(body.get("Response"), list):
        raise _MalformedResponse("Response is not a list")
    pairs: set[tuple[tuple[str, str], tuple[str, str]]] = set()
    for result in body["Response"]:
        if not isinstance(result, dict):
            raise _MalformedResponse("a result is not an object")
        decision = result.get("Decision")
        if not isinstance(decision, str):
            raise _MalformedResponse("a result has no Decision")
        if decision != "Permit":
            continue
        subject: tuple[str, str] | None = None
        owner: tuple[str, str] | None = None
        categories = result.get("Category")
        for category in categories if isinstance(categories, list) else []:
            attributes = category.get("Attribute") if isinstance(category, dict) else None
            for attribute in attributes if isinstance(attributes, list) else []:
                if not isinstance(attribute, dict):
                    continue
                attribute_id, value = attribute.get("AttributeId"), attribute.get("Value")
                if not isinstance(value, str | int) or isinstance(value, bool):
                    continue
                if attribute_id in (USER_ID, PERSON_ID):
                    subject = (attribute_id, str(value))
                elif attribute_id in (PARTY_ID, ORGANIZATION_ID):
                    owner = (attribute_id, str(value))
        if subject is not None and owner is not None:
            pairs.add((subject, owner))
    return pairs


class HttpAuthorization(SharedClientBackend):
    """Decisions from an XACML JSON decision point over HTTP (batched, short timeouts, pooled)."""

    def __init__(
        self, *, url: str, timeout_seconds: float, subscription_key: str | None = None, batch_size: int = 500
    ) -> None:
        if batch_size < 1:
            raise ImproperlyConfigured("NOTIFICATIONS_AUTHORIZATION_BATCH_SIZE must be at least 1.")
        headers = {"Accept": "application/json"}
        if subscription_key:
            headers["Ocp-Apim-Subscription-Key"] = subscription_key
        self._url = url
        self._timeout = timeout_seconds
        self._batch_size = batch_size
        self._client = GuardedClient(headers=headers, timeout=httpx.Timeout(timeout_seconds))

    @classmethod
    def from_settings(cls) -> HttpAuthorization:
        url = settings.NOTIFICATIONS_AUTHORIZATION_URL
        if not url:
            raise ImproperlyConfigured(
                "NOTIFICATIONS_AUTHORIZATION_URL is required when NOTIFICATIONS_AUTHORIZATION_BACKEND is "
                "'http'."
            )
        timeout = float(settings.NOTIFICATIONS_AUTHORIZATION_TIMEOUT_SECONDS)
        key: str | None = settings.NOTIFICATIONS_AUTHORIZATION_SUBSCRIPTION_KEY
        batch = int(settings.NOTIFICATIONS_AUTHORIZATION_BATCH_SIZE)
        return cls.shared(
            (url, timeout, key, batch),
            lambda: cls(url=url, timeout_seconds=timeout, subscription_key=key, batch_size=batch),
        )

    def permitted(
        self, questions: Sequence[AccessQuestion], *, resource_id: str, action: str
    ) -> set[AccessQuestion]:
        unique = list(dict.fromkeys(questions))
        permitted: set[AccessQuestion] = set()
        for start in range(0, len(unique), self._batch_size):
            batch = unique[start : start + self._batch_size]
            body = self._post(decision_request(batch, resource_id=resource_id, action=action))
            try:
                pairs = _permitted_pairs(body)
            except _MalformedResponse as exc:
                logger.error("Authorization service sent a malformed decision: %s", exc)
                raise AuthorizationUnavailable(
                    "The authorization service sent a malformed decision."
                ) from exc
            permitted.update(q for q in batch if (_subject_key(q), _owner_key(q)) in pairs)
        return permitted

    def _post(self, payload: dict[str, Any]) -> Any:
        try:
            response = guarded_request(
                "POST",
                self._url,
                client=self._client,
                timeout=self._timeout,
                max_bytes=MAX_RESPONSE_BYTES,
                json=payload,
            )
        except OutboundRequestError as exc:
            if exc.blocked:
                logger.error(
                    "Authorization service refused by the outbound guard: %s (allow its network in "
                    "NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS)",
                    exc,
                )
                raise AuthorizationUnavailable("The authorization service's address is not allowed.") from exc
            if isinstance(exc.__cause__, httpx.TimeoutException):
                logger.warning("Authorization service timed out")
                raise AuthorizationUnavailable("The authorization service did not answer in time.") from exc
            logger.warning("Authorization service unreachable: %s", exc)
            raise AuthorizationUnavailable("The authorization service could not be reached.") from exc
        if not 200 <= response.status_code < 300:
            log = logger.warning if response.status_code >= 500 else logger.error
            log("Authorization service answered %s", response.status_code)
            raise AuthorizationUnavailable(f"The authorization service answered {response.status_code}.")
        try:
            return json.loads(response.content)
        except ValueError as exc:
            logger.error("Authorization service sent an answer that is not JSON")
            raise AuthorizationUnavailable("The authorization service sent a malformed decision.") from exc
