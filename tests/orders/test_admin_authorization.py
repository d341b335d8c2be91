"""Resource rights and organizations' contact persons in the admin: masked NINs, edits, permissions."""

from __future__ import annotations

import pytest
from django.urls import reverse

from orders.audit import AuditAction, AuditEntry
from orders.authorization.models import ResourceRight
from orders.registry.models import Organization, OrganizationContact

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.orders.admin_support"]

RIGHTS = reverse("admin:orders_resourceright_changelist")
NIN = "05057012345"


def organization_with_a_person() -> Organization:
    organization = Organization.objects.create(organization_number="311000179", name="Eksempelbedrift AS")
    OrganizationContact.objects.create(
        organization=organization, kind="email", address="ida@org.no", national_identity_number=NIN
    )
    return organization


def test_the_organization_page_masks_a_contact_persons_nin_for_support(support_client, operator_client):
    organization = organization_with_a_person()
    url = reverse("admin:orders_organization_change", args=[organization.pk])
    support_page = support_client.get(url).content.decode()
    assert NIN not in support_page
    assert "********345" in support_page
    assert NIN in operator_client.get(url).content.decode()


def test_an_operator_ties_a_contact_point_to_a_person_and_a_bad_nin_is_refused(operator_client):
    add = reverse("admin:orders_organization_add")
    form = {
        "organization_number": "910012345",
        "name": "Testbedrift AS",
        "contacts-TOTAL_FORMS": "1",
        "contacts-INITIAL_FORMS": "0",
        "contacts-0-kind": "email",
        "contacts-0-address": "ida@testbedrift.no",
        "contacts-0-national_identity_number": "0505",
        "contacts-0-user_id": "",
    }
    response = operator_client.post(add, form)
    assert response.status_code == 200
    assert "Enter exactly 11 digits" in response.content.decode()
    assert not Organization.objects.exists()

    response = operator_client.post(add, {**form, "contacts-0-national_identity_number": NIN})
    assert response.status_code == 302, response.content.decode()[:2000]
    stored = OrganizationContact.objects.values_list("national_identity_number", "user_id")
    assert list(stored) == [(NIN, None)]


def test_rights_are_listed_with_masked_nins_and_edited_by_operators_audited(support_client, operator_client):
    right = ResourceRight.objects.create(
        organization_number="311000179", national_identity_number=NIN, resource_id="urn:altinn:resource:svc"
    )
    page = support_client.get(RIGHTS).content.decode()
    assert "urn:altinn:resource:svc" in page
    assert NIN not in page
    change = reverse("admin:orders_resourceright_change", args=[right.pk])
    assert NIN not in support_client.get(change).content.decode()
    assert support_client.post(change, {}).status_code == 403

    response = operator_client.post(
        reverse("admin:orders_resourceright_add"),
        {
            "organization_number": "311000179",
            "national_identity_number": "",
            "user_id": "20001",
            "resource_id": "urn:altinn:resource:svc",
            "action": "sign",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert ResourceRight.objects.filter(user_id=20001, action="sign").exists()
    assert AuditEntry.objects.filter(action=AuditAction.REGISTRY_ADD).count() == 1


def test_a_right_the_database_would_refuse_is_a_form_error(operator_client):
    response = operator_client.post(
        reverse("admin:orders_resourceright_add"),
        {"organization_number": "311000179", "resource_id": "svc", "action": "read"},
    )
    assert response.status_code == 200
    assert not ResourceRight.objects.exists()
