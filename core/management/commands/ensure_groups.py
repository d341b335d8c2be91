"""Create or update the staff groups of the admin: "support" (read-only) and "operator"."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

# What support staff see: everything the admin shows, nothing they can change.
SUPPORT_PERMISSIONS = (
    "orders.view_order",
    "orders.view_recipient",
    "orders.view_emailnotification",
    "orders.view_smsnotification",
    "orders.view_person",
    "orders.view_organization",
    "orders.view_organizationcontact",
    "orders.view_resourceright",
    "orders.view_selfidentifieduser",
    "orders.view_auditentry",
    "dispatch.view_deliveryattempt",
    "dispatch.view_deliveryreport",
    "dispatch.view_providerpause",
    "dispatch.view_sandboxmessage",
    "dispatch.view_callbackdelivery",
    "dispatch.view_callbacksecret",
    "dispatch.view_providerhealth",
    "dispatch.view_providerhealthevent",
    "notification_templates.view_storedtemplate",
)

# Operators also retry, cancel, re-apply reports, edit and import the registry, see NINs in full, re-send
# status callbacks and rotate (and see) callback signing secrets.
OPERATOR_PERMISSIONS = (
    *SUPPORT_PERMISSIONS,
    "orders.retry_emailnotification",
    "orders.retry_smsnotification",
    "orders.cancel_order",
    "orders.view_full_nin",
    "orders.add_person",
    "orders.change_person",
    "orders.delete_person",
    "orders.add_organization",
    "orders.change_organization",
    "orders.delete_organization",
    "orders.add_organizationcontact",
    "orders.change_organizationcontact",
    "orders.delete_organizationcontact",
    "orders.add_resourceright",
    "orders.change_resourceright",
    "orders.delete_resourceright",
    "orders.add_selfidentifieduser",
    "orders.change_selfidentifieduser",
    "orders.delete_selfidentifieduser",
    "dispatch.change_deliveryreport",
    "dispatch.resend_callbackdelivery",
    "dispatch.rotate_callbacksecret",
)

GROUPS = {"support": SUPPORT_PERMISSIONS, "operator": OPERATOR_PERMISSIONS}


def permissions(names: tuple[str, ...]) -> list[Permission]:
    """The Permission rows for "app_label.codename" names; fails loudly on a name that does not exist."""
    found = {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in Permission.objects.select_related("content_type").filter(
            codename__in=[name.split(".", 1)[1] for name in names]
        )
    }
    missing = sorted(set(names) - set(found))
    if missing:
        raise CommandError(f"unknown permissions (run migrate first?): {', '.join(missing)}")
    return [found[name] for name in names]


class Command(BaseCommand):
    help = (
        'Create the admin groups "support" (read-only) and "operator" (retry, cancel, registry edits, '
        "report re-apply, full NINs) and set their permissions exactly; safe to run again."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            for name, names in GROUPS.items():
                group, created = Group.objects.get_or_create(name=name)
                group.permissions.set(permissions(names))
                if options["verbosity"] >= 1:
                    verb = "created" if created else "updated"
                    self.stdout.write(f"{verb} group {name}: {len(names)} permissions")
