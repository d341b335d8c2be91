"""What every request and response serializer of the orders API builds on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.validators import MaxLengthValidator
from rest_framework import serializers


def max_length_of(model: Any, name: str) -> int:
    """The column's length: the longest value a field may accept and still be stored."""
    length = model._meta.get_field(name).max_length
    assert isinstance(length, int)
    return length


def limit_length(field: serializers.Field[Any, Any, Any, Any], max_length: int) -> None:
    # Limits from settings are applied per serializer instance, so an override takes effect at once.
    field.validators.append(MaxLengthValidator(max_length))


# No docstring: drf-spectacular would take it as the description of every subclass without one.
class CollectingSerializer(serializers.Serializer[Any]):
    # Field errors and cross-field errors (``cross_field_errors``) are reported together, as the
    # reference does, for the v1 and the future requests alike.

    def to_internal_value(self, data: Any) -> Any:
        errors: dict[str, Any] = {}
        attrs: Any = {}
        try:
            attrs = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, dict):
                raise
            errors = dict(exc.detail)
        if isinstance(data, Mapping):
            for key, messages in self.cross_field_errors(data).items():
                existing = errors.setdefault(key, [])
                if isinstance(existing, list):
                    existing.extend(messages)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def cross_field_errors(self, data: Mapping[str, Any]) -> dict[str, list[str]]:
        """Rules over several fields, checked on the raw request so they show beside field errors."""
        return {}


class OmitNullSerializer(serializers.Serializer[Any]):
    """Null fields are left out of the JSON, as the reference does."""

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        return {key: value for key, value in data.items() if value is not None}
