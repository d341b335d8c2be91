"""Contact registry tables of the database backend (editable in the admin, loaded by import_contacts)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Person(models.Model):
    national_identity_number = models.CharField(max_length=11, unique=True)
    name = models.CharField(max_length=200, blank=True)
    mobile_number = models.CharField(max_length=32, blank=True)
    email_address = models.CharField(max_length=320, blank=True)
    reserved = models.BooleanField(default=False, help_text="Reserved against digital contact.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "orders"
        verbose_name_plural = "persons"
        constraints = [
            models.CheckConstraint(
                condition=Q(national_identity_number__regex=r"^[0-9]{11}$"), name="person_nin_11_digits"
            ),
        ]

    def __str__(self) -> str:
        return self.name or "person"


class Organization(models.Model):
    organization_number = models.CharField(max_length=9, unique=True)
    name = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "orders"
        constraints = [
            models.CheckConstraint(
                condition=Q(organization_number__regex=r"^[0-9]{9}$"), name="organization_number_9_digits"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization_number} {self.name}".strip()


class OrganizationContact(models.Model):
    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "SMS"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="contacts", db_index=False
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    address = models.CharField(max_length=320)

    class Meta:
        app_label = "orders"
        constraints = [
            # Its leading column also serves the lookup and the import's "replace the lists" delete,
            # both of which filter by organization_id, so the foreign key needs no index of its own.
            models.UniqueConstraint(fields=["organization", "kind", "address"], name="org_contact_unique")
        ]

    def __str__(self) -> str:
        return self.address
