"""Requests and responses of the stored-templates API (``/templates``), JSON in camelCase."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework import serializers

from orders import validation
from orders.api.fields import EnumField, RequiredTextField, SenderField, StrictCharField
from orders.api.output.orders import timestamp
from orders.api.serializers import CONTENT_TYPE_VALUES, OmitNullSerializer
from orders.api.serializers.base import CollectingSerializer, max_length_of
from templates.models import EmailContentType, StoredTemplateVersion, TemplateType
from templates.sms import SmsLength, sms_characters_left
from templates.store import TemplateContent

TYPE_VALUES = [choice.value for choice in TemplateType]

MSG_NAME_EMPTY = "The template name cannot be empty."
MSG_BODY_EMPTY = "The template body cannot be empty."
MSG_SUBJECT_EMPTY = "An email template needs a subject."
MSG_TYPE_REQUIRED = "The template type (Email or Sms) is required."
MSG_TYPE_CHANGED = "The type of a template cannot change; create a new template instead."
MSG_NOT_FOR_TYPE = "Not allowed in an {type} template."
MSG_TOO_LONG = "Ensure this field has no more than {limit} characters."

_EMAIL_ONLY = ("subject", "contentType", "fromAddress")
_SMS_ONLY = ("senderNumber",)


class TemplateRequestSerializer(CollectingSerializer):
    """A template as created (POST) or replaced by a new version (PUT). The personalisation fields are the
    ((name)) placeholders of its subject and body."""

    type = EnumField(
        TYPE_VALUES,
        required=False,
        allow_null=True,
        help_text="Email or Sms; required when creating, and cannot change.",
    )
    name = RequiredTextField(
        message=MSG_NAME_EMPTY,
        max_length=max_length_of(StoredTemplateVersion, "name"),
        help_text="The template's name, for people.",
    )
    subject = StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="Email only, required there. May hold ((fields)); line breaks are replaced by spaces.",
    )
    body = RequiredTextField(
        message=MSG_BODY_EMPTY,
        help_text="The text, with ((fields)) for personalisation and the keywords $recipientName$ and "
        "$recipientNumber$ (substituted per recipient when sent).",
    )
    contentType = EnumField(
        CONTENT_TYPE_VALUES,
        required=False,
        allow_null=True,
        help_text="Email only: Plain (default) or Html (personalisation values are HTML-escaped).",
    )
    fromAddress = SenderField(
        rule=validation.is_valid_sender_email,
        message=validation.MSG_INVALID_SENDER_EMAIL,
        max_length=max_length_of(StoredTemplateVersion, "sender"),
        help_text="Email only: the sender address. Default: the service's configured address.",
    )
    senderNumber = SenderField(
        rule=validation.is_valid_sms_sender,
        message=validation.MSG_INVALID_SMS_SENDER,
        max_length=32,
        help_text="SMS only: a number of at most 15 digits, optionally starting with +, or a name of at most "
        "11 GSM letters, digits and spaces. Default: Altinn (configurable).",
    )

    def _type(self, data: Mapping[str, Any]) -> str | None:
        current = self.context.get("type")  # a PUT: the template's own type
        if current is not None:
            return str(current)
        try:
            value = self.fields["type"].run_validation(data.get("type"))
        except serializers.ValidationError:
            return None  # reported with the field errors
        return str(value) if value else None

    def cross_field_errors(self, data: Mapping[str, Any]) -> dict[str, list[str]]:
        errors = super().cross_field_errors(data)
        kind = self._type(data)
        current = self.context.get("type")
        if current is None and data.get("type") is None:
            errors["type"] = [MSG_TYPE_REQUIRED]
        elif current is not None and data.get("type") is not None:
            try:
                given = self.fields["type"].run_validation(data.get("type"))
            except serializers.ValidationError:
                given = None
            if given is not None and given != current:
                errors["type"] = [MSG_TYPE_CHANGED]
        if kind is None:
            return errors
        others = _SMS_ONLY if kind == TemplateType.EMAIL else _EMAIL_ONLY
        for name in others:
            if data.get(name) is not None:
                errors.setdefault(name, []).append(MSG_NOT_FOR_TYPE.format(type=kind))
        if kind == TemplateType.EMAIL:
            subject = data.get("subject")
            if subject is None or (isinstance(subject, str) and not subject.strip()):
                errors.setdefault("subject", []).append(MSG_SUBJECT_EMPTY)
        return errors

    def validate(self, attrs: dict[str, Any]) -> tuple[str, TemplateContent]:
        kind = str(self.context.get("type") or attrs["type"])
        errors: dict[str, list[str]] = {}
        body = attrs["body"]
        if kind == TemplateType.EMAIL:
            subject = validation.fold_subject_newlines(attrs.get("subject") or "")
            limits = {
                "subject": (subject, settings.NOTIFICATIONS_MAX_EMAIL_SUBJECT_CHARS),
                "body": (body, settings.NOTIFICATIONS_MAX_EMAIL_BODY_CHARS),
            }
            content = TemplateContent(
                name=attrs["name"],
                subject=subject,
                body=body,
                content_type=attrs.get("contentType") or EmailContentType.PLAIN,
                sender=attrs.get("fromAddress") or "",
            )
        else:
            limits = {"body": (body, settings.NOTIFICATIONS_MAX_SMS_BODY_CHARS)}
            content = TemplateContent(name=attrs["name"], body=body, sender=attrs.get("senderNumber") or "")
        for name, (text, limit) in limits.items():
            if len(text) > limit:
                errors[name] = [MSG_TOO_LONG.format(limit=limit)]
        if errors:
            raise serializers.ValidationError(errors)
        return kind, content


class TemplateSerializer(OmitNullSerializer):
    """A version of a stored template (by default its current one)."""

    id = serializers.UUIDField(help_text="The template's id.")
    type = serializers.ChoiceField(TYPE_VALUES)
    name = serializers.CharField()
    version = serializers.IntegerField(help_text="The version's number: 1 when created, one more per change.")
    currentVersion = serializers.IntegerField(help_text="The number of the template's current version.")
    subject = serializers.CharField(required=False, help_text="Email only.")
    body = serializers.CharField()
    contentType = serializers.ChoiceField(CONTENT_TYPE_VALUES, required=False, help_text="Email only.")
    fromAddress = serializers.CharField(required=False, help_text="Email only; left out for the default.")
    senderNumber = serializers.CharField(required=False, help_text="SMS only; left out for the default.")
    personalisationFields = serializers.ListField(
        child=serializers.CharField(), help_text="The ((fields)) of the subject and body, in order."
    )
    created = serializers.DateTimeField(help_text="When the template was created.")
    versionCreated = serializers.DateTimeField(help_text="When this version was made.")

    def to_representation(self, instance: StoredTemplateVersion) -> dict[str, Any]:
        template = instance.template
        is_email = template.type == TemplateType.EMAIL
        data = {
            "id": str(template.id),
            "type": template.type,
            "name": instance.name,
            "version": instance.number,
            "currentVersion": template.version,
            "subject": instance.subject if is_email else None,
            "body": instance.body,
            "contentType": instance.content_type if is_email else None,
            "fromAddress": (instance.sender or None) if is_email else None,
            "senderNumber": (instance.sender or None) if not is_email else None,
            "personalisationFields": list(instance.fields),
            "created": timestamp(template.created_at),
            "versionCreated": timestamp(instance.created_at),
        }
        return {key: value for key, value in data.items() if value is not None}


class TemplateListSerializer(serializers.Serializer[Any]):
    count = serializers.IntegerField()
    templates = TemplateSerializer(many=True, help_text="The current version of each template, newest first.")


class TemplateVersionListSerializer(serializers.Serializer[Any]):
    count = serializers.IntegerField()
    versions = TemplateSerializer(many=True, help_text="Every version, oldest first.")


class PreviewRequestSerializer(serializers.Serializer[Any]):
    """Values for the template's personalisation fields."""

    personalisation = serializers.DictField(
        child=StrictCharField(allow_blank=True),
        required=False,
        allow_null=True,
        help_text="A text for each ((field)); a field without one is shown as written and listed as missing.",
    )


class SmsPreviewSerializer(serializers.Serializer[Any]):
    encoding = serializers.ChoiceField(["GSM-7", "UCS-2"])
    partCount = serializers.IntegerField(help_text="The parts (segments) the text is sent and billed as.")
    charactersLeft = serializers.IntegerField(
        help_text="Characters (GSM-7 septets or UCS-2 units) left in the last part before another part is "
        "needed."
    )

    def to_representation(self, instance: SmsLength) -> dict[str, Any]:
        return {
            "encoding": str(instance.encoding),
            "partCount": instance.parts,
            "charactersLeft": sms_characters_left(instance),
        }


class PreviewSerializer(OmitNullSerializer):
    """The template filled in. $recipientName$ and $recipientNumber$ stay as written: they are
    substituted per recipient when the notifications are made."""

    templateId = serializers.UUIDField()
    version = serializers.IntegerField()
    type = serializers.ChoiceField(TYPE_VALUES)
    subject = serializers.CharField(required=False, help_text="Email only.")
    body = serializers.CharField()
    contentType = serializers.ChoiceField(CONTENT_TYPE_VALUES, required=False, help_text="Email only.")
    sms = SmsPreviewSerializer(required=False, help_text="SMS only: encoding and length of the body.")
    missingPersonalisation = serializers.ListField(
        child=serializers.CharField(), help_text="Fields without a value (an order would be refused)."
    )
    unusedPersonalisation = serializers.ListField(
        child=serializers.CharField(), help_text="Values given for no field of the template."
    )
