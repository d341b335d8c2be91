"""Rights of the database authorization backend: who may do what on which resource, for which organization.

Editable in the admin and loaded by ``manage.py import_rights``. A row permits one person (by national
identity number, user id or both: either matches) one action on one resource on behalf of one
organization; anything without a row is denied.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

RESOURCE_ID_REGEX = r"^urn:altinn:resource:.*[^[:space:]].*$"


class ResourceRight(models.Model):
    organization_number = models.CharField(max_length=9, help_text="The organization acted for (9 digits).")
    national_identity_number = models.CharField(
        max_length=11,
        null=True,
        blank=True,
        help_text="The person (11 digits), or leave empty for a user id.",
    )
    user_id = models.PositiveBigIntegerField(null=True, blank=True, help_text="The person's user id.")
    resource_id = models.CharField(max_length=500, help_text="urn:altinn:resource:<id>")
    action = models.CharField(max_length=200, default="read", help_text="e.g. read, write, sign.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "orders"
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "organization_number",
                    "national_identity_number",
                    "user_id",
                    "resource_id",
                    "action",
                ],
                name="resource_right_unique",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                condition=Q(organization_number__regex=r"^[0-9]{9}$"), name="resource_right_orgno_9_digits"
            ),
            models.CheckConstraint(
                condition=Q(national_identity_number__isnull=True)
                | Q(national_identity_number__regex=r"^[0-9]{11}$"),
                name="resource_right_nin_11_digits",
            ),
            models.CheckConstraint(
                condition=Q(national_identity_number__isnull=False) | Q(user_id__isnull=False),
                name="resource_right_has_person",
            ),
            models.CheckConstraint(
                condition=Q(resource_id__regex=RESOURCE_ID_REGEX), name="resource_right_resource_urn"
            ),
            models.CheckConstraint(condition=~Q(action=""), name="resource_right_action_not_empty"),
        ]
        indexes = [models.Index(fields=["resource_id", "action"], name="resource_right_lookup")]

    def __str__(self) -> str:
        return f"{self.action} on {self.resource_id} for {self.organization_number}"
