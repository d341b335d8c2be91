"""The HTTP backend of the contact registry: a client for an external register.

It speaks the lookup shapes of the service we replace (its Profile and Register APIs), so the service can sit
in front of a real national register or a gateway to one. Every path is relative to
``NOTIFICATIONS_REGISTRY_URL``; every call is a ``POST`` with a JSON body, answered with ``200`` and JSON.
When ``NOTIFICATIONS_REGISTRY_TOKEN`` is set it is sent as ``Authorization: Bearer <token>``.

``users/contactpoint/lookup`` — persons' contact points and reservation::

    request:  {"nationalIdentityNumbers": ["01010112345", ...], "useStaleContactInfo": false}
    response: {"contactPointsList": [{"nationalIdentityNumber": "01010112345", "isReserved": false,
                                      "mobileNumber": "99315000", "email": "ola@example.no",
                                      "userId": 20001}]}

``organizations/notificationaddresses/lookup`` — organizations' official notification addresses::

    request:  {"organizationNumbers": ["987654321", ...]}
    response: {"contactPointsList": [{"organizationNumber": "987654321", "partyId": 50001,
                                      "emailList": ["post@demo.no"], "mobileNumberList": ["+4799315000"]}]}

``users/contactpoint/lookupsi`` — self-identified users' contact points, by external identity (URN)::

    request:  {"externalIdentities": ["urn:altinn:person:legacy-selfidentified:ola", ...]}
    response: {"contactPointsList": [{"externalIdentity": "urn:altinn:person:legacy-selfidentified:ola",
                                      "email": "ola@example.no", "mobileNumber": "+4799315000"}]}

  Only username URNs are sent (an ID-porten email URN carries its address); the answer's
  ``externalIdentity`` is matched to the request's without regard to case, as the reference does.

``parties/nameslookup`` — names, for ``$recipientName$``::

    request:  {"parties": [{"ssn": "01010112345"}, {"orgNo": "987654321"}]}
    response: {"partyNames": [{"ssn": "01010112345", "name": "Ola Nordmann"},
                              {"orgNo": "987654321", "name": "Demo AS"}]}

``units/contactpoint/lookup`` — contact points persons registered for organizations (for a resource),
asked only for orders with a ``resourceId``::

    request:  {"organizationNumbers": ["987654321", ...], "resourceId": "example-service"}
    response: {"contactPointsList": [{"organizationNumber": "987654321", "partyId": 50001,
                                      "userContactPoints": [{"userId": 20001,
                                                             "nationalIdentityNumber": "01010112345",
                                                             "email": "ola@demo.no",
                                                             "mobileNumber": "99315000"}]}]}

Identifiers the register does not know are simply absent from ``contactPointsList``; they are absent from
the lookup result too. A person or organization is found when it is in ``contactPointsList``; its name
comes from the second call, made only for those found (so a lookup is at most two requests, however many
identifiers). ``userId`` and ``partyId`` of those two lookups are ignored; missing or ``null`` addresses
mean none. A user contact point needs a ``userId`` or a ``nationalIdentityNumber`` (the authorization
check asks about that person); one with neither is skipped.

Mobile numbers are normalised as the registry rule says (``orders.registry.normalise``), addresses are
deduplicated, and organizations are never reserved. Anything other than a well-formed 2xx answer within the
timeout (connection refused, timeout, any non-2xx status, a body that is not the JSON above, a body over
``NOTIFICATIONS_REGISTRY_MAX_RESPONSE_BYTES``) raises ``RegistryUnavailable``, so the caller can retry later
instead of crashing or guessing.

Every request goes through the SSRF guard of ``core.outbound``, like the condition
endpoints: the host is resolved and checked before connecting and the peer address after, so loopback,
link-local (cloud metadata) and private addresses are refused unless the operator allows the register's
network in ``NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS`` (a national register usually sits on an internal
network, so a deployment names it there). A misconfigured or hijacked URL then cannot point the service's
lookups at its own infrastructure. The answer has its own size cap, larger than the guard's default: a
lookup of thousands of identifiers is a large document. Redirects are not followed.
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
from orders.registry.base import (
    ExternalIdentityContact,
    OrganizationContacts,
    OrganizationUserContacts,
    PersonContact,
    RegistryUnavailable,
    UserContact,
)
from orders.registry.normalise import (
    registry_email_address,
    registry_mobile_number,
    unique_email_addresses,
    unique_mobile_numbers,
)
from orders.registry.urns import IdentityKind, external_identity_parse

logger = logging.getLogger(__name__)

PERSONS_PATH = "users/contactpoint/lookup"
ORGANIZATIONS_PATH = "organizations/notificationaddresses/lookup"
NAMES_PATH = "parties/nameslookup"
EXTERNAL_IDENTITIES_PATH = "users/contactpoint/lookupsi"
UNIT_CONTACTS_PATH = "units/contactpoint/lookup"


class _MalformedResponse(Exception):
    """The register answered 2xx with a body that is not the documented shape."""


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _MalformedResponse(f"{what} is not an object")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise _MalformedResponse(f"{what} is not a list")
    return value


def _optional_str(value: Any, what: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise _MalformedResponse(f"{what} is not a string")
    return value


def _optional_int(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _MalformedResponse(f"{what} is not an integer")
    return int(value)


def _str_list(value: Any, what: str) -> list[str]:
    # A missing or null list means "no addresses of this kind".
    if value is None:
        return []
    return [item for item in _list(value, what) if _optional_str(item, what) is not None]


class HttpRegistry(SharedClientBackend):
    """Contact lookups against an external register over HTTP (JSON, short timeouts, pooled connections).

    One instance per configuration (``from_settings``), so every caller of get_registry() shares one
    connection pool.
    """

    def __init__(
        self,
        *,
        base_url: str,
        timeout_seconds: float,
        token: str | None = None,
        max_response_bytes: int | None = None,
    ) -> None:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        # Paths are relative to the base, which must end with "/" for that (as httpx's base_url does).
        self._base_url = base_url.rstrip("/") + "/"
        self._timeout = timeout_seconds
        self._max_bytes = (
            max_response_bytes
            if max_response_bytes is not None
            else int(settings.NOTIFICATIONS_REGISTRY_MAX_RESPONSE_BYTES)
        )
        # The register is configured by the operator; a redirect is a misconfiguration to surface
        # (guarded_request never follows one).
        self._client = GuardedClient(headers=headers, timeout=httpx.Timeout(timeout_seconds))

    @classmethod
    def from_settings(cls) -> HttpRegistry:
        """The registry at ``NOTIFICATIONS_REGISTRY_URL``, shared by every caller with the same settings."""
        base_url = settings.NOTIFICATIONS_REGISTRY_URL
        if not base_url:
            raise ImproperlyConfigured(
                "NOTIFICATIONS_REGISTRY_URL is required when NOTIFICATIONS_REGISTRY_BACKEND is 'http'."
            )
        timeout = float(settings.NOTIFICATIONS_REGISTRY_TIMEOUT_SECONDS)
        token: str | None = settings.NOTIFICATIONS_REGISTRY_TOKEN
        max_bytes = int(settings.NOTIFICATIONS_REGISTRY_MAX_RESPONSE_BYTES)
        return cls.shared(
            (base_url, timeout, token, max_bytes),
            lambda: cls(
                base_url=base_url, timeout_seconds=timeout, token=token, max_response_bytes=max_bytes
            ),
        )

    def persons(self, national_identity_numbers: Sequence[str]) -> dict[str, PersonContact]:
        """Contacts of the persons found, keyed by NIN; unknown persons are absent."""
        wanted = set(national_identity_numbers)
        if not wanted:
            return {}
        body = self._post(
            PERSONS_PATH, {"nationalIdentityNumbers": sorted(wanted), "useStaleContactInfo": False}
        )
        found: dict[str, tuple[bool, str | None, str | None]] = {}
        try:
            entries = _list(_object(body, "response").get("contactPointsList"), "contactPointsList")
            for raw in entries:
                entry = _object(raw, "contact point")
                nin = _optional_str(entry.get("nationalIdentityNumber"), "nationalIdentityNumber")
                reserved = entry.get("isReserved", False)
                if not isinstance(reserved, bool):
                    raise _MalformedResponse("isReserved is not a boolean")
                mobile = _optional_str(entry.get("mobileNumber"), "mobileNumber")
                email = _optional_str(entry.get("email"), "email")
                if nin in wanted:
                    found[nin] = (reserved, mobile, email)
        except _MalformedResponse as exc:
            raise self._malformed(PERSONS_PATH, exc) from exc
        names = self._names("ssn", list(found))
        return {
            nin: PersonContact(
                national_identity_number=nin,
                name=names.get(nin),
                mobile_number=registry_mobile_number(mobile),
                email_address=registry_email_address(email),
                reserved=reserved,
            )
            for nin, (reserved, mobile, email) in found.items()
        }

    def organizations(self, organization_numbers: Sequence[str]) -> dict[str, OrganizationContacts]:
        """Notification addresses of the organizations found, keyed by number; unknown ones are absent."""
        wanted = set(organization_numbers)
        if not wanted:
            return {}
        body = self._post(ORGANIZATIONS_PATH, {"organizationNumbers": sorted(wanted)})
        found: dict[str, tuple[list[str], list[str]]] = {}
        try:
            entries = _list(_object(body, "response").get("contactPointsList"), "contactPointsList")
            for raw in entries:
                entry = _object(raw, "contact point")
                number = _optional_str(entry.get("organizationNumber"), "organizationNumber")
                emails = _str_list(entry.get("emailList"), "emailList")
                mobiles = _str_list(entry.get("mobileNumberList"), "mobileNumberList")
                if number in wanted:
                    # The same organization twice in one answer: its addresses add up.
                    previous_emails, previous_mobiles = found.get(number, ([], []))
                    found[number] = (previous_emails + emails, previous_mobiles + mobiles)
        except _MalformedResponse as exc:
            raise self._malformed(ORGANIZATIONS_PATH, exc) from exc
        names = self._names("orgNo", list(found))
        return {
            number: OrganizationContacts(
                organization_number=number,
                name=names.get(number),
                email_addresses=unique_email_addresses(emails),
                mobile_numbers=unique_mobile_numbers(mobiles),
            )
            for number, (emails, mobiles) in found.items()
        }

    def external_identities(self, urns: Sequence[str]) -> dict[str, ExternalIdentityContact]:
        """Contacts of the self-identified users found, keyed by the URN as asked; unknown ones are absent."""
        wanted: dict[str, list[str]] = {}
        for urn in dict.fromkeys(urns):
            identity = external_identity_parse(urn)
            if identity is not None and identity.kind is IdentityKind.USERNAME:
                wanted.setdefault(urn.lower(), []).append(urn)
        if not wanted:
            return {}
        asked = sorted(spellings[0] for spellings in wanted.values())
        body = self._post(EXTERNAL_IDENTITIES_PATH, {"externalIdentities": asked})
        found: dict[str, ExternalIdentityContact] = {}
        try:
            entries = _list(_object(body, "response").get("contactPointsList"), "contactPointsList")
            for raw in entries:
                entry = _object(raw, "contact point")
                answered = _optional_str(entry.get("externalIdentity"), "externalIdentity")
                mobile = _optional_str(entry.get("mobileNumber"), "mobileNumber")
                email = _optional_str(entry.get("email"), "email")
                for urn in wanted.get((answered or "").lower(), []):
                    found[urn] = ExternalIdentityContact(
                        external_identity=urn,
                        mobile_number=registry_mobile_number(mobile),
                        email_address=registry_email_address(email),
                    )
        except _MalformedResponse as exc:
            raise self._malformed(EXTERNAL_IDENTITIES_PATH, exc) from exc
        return found

    def organization_user_contacts(
        self, organization_numbers: Sequence[str], resource_id: str
    ) -> dict[str, OrganizationUserContacts]:
        """Contact points persons registered for these organizations and the resource, by number."""
        wanted = set(organization_numbers)
        if not wanted:
            return {}
        body = self._post(
            UNIT_CONTACTS_PATH, {"organizationNumbers": sorted(wanted), "resourceId": resource_id}
        )
        found: dict[str, OrganizationUserContacts] = {}
        try:
            entries = _list(_object(body, "response").get("contactPointsList"), "contactPointsList")
            for raw in entries:
                entry = _object(raw, "contact point")
                number = _optional_str(entry.get("organizationNumber"), "organizationNumber")
                party_id = _optional_int(entry.get("partyId"), "partyId")
                contacts: list[UserContact] = []
                for raw_user in _list(entry.get("userContactPoints") or [], "userContactPoints"):
                    user = _object(raw_user, "user contact point")
                    user_id = _optional_int(user.get("userId"), "userId")
                    nin = _optional_str(user.get("nationalIdentityNumber"), "nationalIdentityNumber") or None
                    if user_id is None and nin is None:
                        continue  # nobody to authorize
                    contacts.append(
                        UserContact(
                            user_id=user_id,
                            national_identity_number=nin,
                            email_address=registry_email_address(_optional_str(user.get("email"), "email")),
                            mobile_number=registry_mobile_number(
                                _optional_str(user.get("mobileNumber"), "mobileNumber")
                            ),
                        )
                    )
                if number in wanted and contacts:
                    previous = found.get(number)
                    found[number] = OrganizationUserContacts(
                        organization_number=number,
                        party_id=party_id
                        if party_id is not None
                        else (previous.party_id if previous else None),
                        contacts=(previous.contacts if previous else ()) + tuple(contacts),
                    )
        except _MalformedResponse as exc:
            raise self._malformed(UNIT_CONTACTS_PATH, exc) from exc
        return found

    def _names(self, key: str, identifiers: list[str]) -> dict[str, str]:
        """Names of the parties by ``ssn`` or ``orgNo``; parties without a name are absent."""
        if not identifiers:
            return {}
        body = self._post(NAMES_PATH, {"parties": [{key: identifier} for identifier in identifiers]})
        names: dict[str, str] = {}
        try:
            for raw in _list(_object(body, "response").get("partyNames"), "partyNames"):
                entry = _object(raw, "party name")
                identifier = _optional_str(entry.get(key), key)
                name = _optional_str(entry.get("name"), "name")
                if identifier is not None and name and name.strip():
                    names[identifier] = name.strip()
        except _MalformedResponse as exc:
            raise self._malformed(NAMES_PATH, exc) from exc
        return names

    def _post(self, path: str, payload: dict[str, Any]) -> Any:
        """POST JSON and return the decoded answer; every failure becomes RegistryUnavailable."""
        try:
            response = guarded_request(
                "POST",
                self._base_url + path,
                client=self._client,
                timeout=self._timeout,
                max_bytes=self._max_bytes,
                json=payload,
            )
        except OutboundRequestError as exc:
            if exc.blocked:
                logger.error(
                    "Contact registry refused by the outbound guard on %s: %s (allow its network in "
                    "NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS)",
                    path,
                    exc,
                    extra={"registry_path": path},
                )
                raise RegistryUnavailable(f"The contact registry's address is not allowed ({path}).") from exc
            if isinstance(exc.__cause__, httpx.TimeoutException):
                logger.warning("Contact registry timed out on %s", path, extra={"registry_path": path})
                raise RegistryUnavailable(f"The contact registry did not answer {path} in time.") from exc
            if exc.__cause__ is None:  # the guard's own refusal: the answer is over the size cap
                logger.error(
                    "Contact registry answer too large on %s: %s", path, exc, extra={"registry_path": path}
                )
                raise RegistryUnavailable(f"The contact registry's answer on {path} is too large.") from exc
            logger.warning("Contact registry unreachable on %s: %s", path, exc, extra={"registry_path": path})
            raise RegistryUnavailable(f"The contact registry could not be reached ({path}).") from exc
        if not 200 <= response.status_code < 300:
            # 5xx is the register's trouble; 3xx/4xx means our configuration (URL, token) is wrong.
            # Either way there is no answer to act on, and the order must wait rather than fail.
            log = logger.warning if response.status_code >= 500 else logger.error
            log(
                "Contact registry answered %s on %s",
                response.status_code,
                path,
                extra={"registry_path": path, "status_code": response.status_code},
            )
            raise RegistryUnavailable(f"The contact registry answered {response.status_code} on {path}.")
        try:
            return json.loads(response.content)
        except ValueError as exc:  # includes a body that is not UTF-8
            raise self._malformed(path, exc) from exc

    @staticmethod
    def _malformed(path: str, exc: Exception) -> RegistryUnavailable:
        logger.error(
            "Contact registry sent a malformed answer on %s: %s", path, exc, extra={"registry_path": path}
        )
        return RegistryUnavailable(f"The contact registry sent a malformed answer on {path}.")
