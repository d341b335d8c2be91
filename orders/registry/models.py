"""Contact registry tables of the database backend (editable in the admin, loaded by import_contacts).

Mobile numbers are stored normalised (E.164, by the registry rule of ``orders.registry.normalise``): the
import and the admin's validation normalise them on the way in, so a lookup reads them as they are.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Lookup, Q
from django.db.models.functions import Lower
from django.db.models.sql.compiler import SQLCompiler

from orders.registry.normalise import registry_mobile_number

E164 = r"^\+[1-9][0-9]{6,14}$"


class AnyOf(Lookup):  # type: ignore[type-arg]
    """``field = ANY(%s)``: one array parameter for any number of values.

    ``__in`` sends one parameter per value; for the tens of thousands of identifiers of a large order the
    array is several times faster to send and plan, and it never meets a parameter limit.
    """

    lookup_name = "any_of"
    prepare_rhs = False

    def get_db_prep_lookup(self, value: Any, connection: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
        return "%s", [list(value)]

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", [*lhs_params, *rhs_params]


def _normalised_mobile_number(value: str) -> str:
    """The registry form of a number typed into the admin, or a ValidationError that says why not."""
    number = registry_mobile_number(value)
    if number is None:
        raise ValidationError("Enter a valid mobile number, e.g. +4799999999 or 99999999.")
    return number


class Person(models.Model):
    national_identity_number = models.CharField(max_length=11, unique=True)
    name = models.CharField(max_length=200, blank=True)
    mobile_number = models.CharField(max_length=32, blank=True, help_text="Stored as E.164 (+4799999999).")
    email_address = models.EmailField(max_length=320, blank=True)
    reserved = models.BooleanField(default=False, help_text="Reserved against digital contact.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "orders"
        verbose_name_plural = "persons"
        constraints = [
            models.CheckConstraint(
                condition=Q(national_identity_number__regex=r"^[0-9]{11}$"), name="person_nin_11_digits"
            ),
            models.CheckConstraint(
                condition=Q(mobile_number="") | Q(mobile_number__regex=E164), name="person_mobile_e164"
            ),
        ]

    def __str__(self) -> str:
        return self.name or "person"

    def clean(self) -> None:
        if self.mobile_number.strip():
            try:
                self.mobile_number = _normalised_mobile_number(self.mobile_number)
            except ValidationError as exc:
                raise ValidationError({"mobile_number": exc.messages}) from exc
        else:
            self.mobile_number = ""


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

    # No index of its own: the unique constraint's leading column serves the lookup and the import's
    # "replace the lists" delete, both of which filter by organization_id.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="contacts", db_index=False
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    address = models.CharField(max_length=320, help_text="An email address, or a mobile number as E.164.")

    class Meta:
        app_label = "orders"
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind", "address"], name="org_contact_unique"),
            models.CheckConstraint(
                condition=~Q(kind="sms") | Q(address__regex=E164), name="org_contact_mobile_e164"
            ),
        ]

    def __str__(self) -> str:
        return self.address

    def clean(self) -> None:
        self.address = self.address.strip()
        try:
            if self.kind == self.Kind.SMS:
                self.address = _normalised_mobile_number(self.address)
            elif self.kind == self.Kind.EMAIL:
                validate_email(self.address)
        except ValidationError as exc:
            raise ValidationError({"address": exc.messages}) from exc


class SelfIdentifiedUser(models.Model):
    """A person without a national identity number who has an account by username (no reservation)."""

    username = models.CharField(
        max_length=200, unique=True, help_text="Stored in lower case: usernames are compared without case."
    )
    name = models.CharField(max_length=200, blank=True)
    mobile_number = models.CharField(max_length=32, blank=True, help_text="Stored as E.164 (+4799999999).")
    email_address = models.EmailField(max_length=320, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "orders"
        verbose_name = "self-identified user"
        constraints = [
            models.CheckConstraint(
                condition=Q(mobile_number="") | Q(mobile_number__regex=E164),
                name="selfidentified_mobile_e164",
            ),
            models.CheckConstraint(
                condition=~Q(username="") & Q(username=Lower("username")),
                name="selfidentified_username_lower",
            ),
        ]

    def __str__(self) -> str:
        return self.username

    def clean(self) -> None:
        self.username = self.username.strip().lower()
        if self.mobile_number.strip():
            try:
                self.mobile_number = _normalised_mobile_number(self.mobile_number)
            except ValidationError as exc:
                raise ValidationError({"mobile_number": exc.messages}) from exc
        else:
            self.mobile_number = ""


# The lookups ask for many identifiers at once (see orders.registry.database).
Person._meta.get_field("national_identity_number").register_lookup(AnyOf)
Organization._meta.get_field("organization_number").register_lookup(AnyOf)
SelfIdentifiedUser._meta.get_field("username").register_lookup(AnyOf)
