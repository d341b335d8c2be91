"""The database backend of authorization: the ResourceRight table (admin, ``manage.py import_rights``).

One query per call, however many questions: the rights on the resource and action for the organizations
asked about; the questions are then matched in memory (a person matches by NIN or by user id).
"""

from __future__ import annotations

from collections.abc import Sequence

from orders.authorization.base import AccessQuestion
from orders.authorization.models import ResourceRight
from orders.validation import RESOURCE_ID_PREFIX


class DatabaseAuthorization:
    """Decisions from the rights stored in this service's own database."""

    def permitted(
        self, questions: Sequence[AccessQuestion], *, resource_id: str, action: str
    ) -> set[AccessQuestion]:
        if not questions:
            return set()
        organizations = sorted({question.organization_number for question in questions})
        rights = ResourceRight.objects.filter(
            organization_number__in=organizations,
            resource_id=RESOURCE_ID_PREFIX + resource_id,
            action=action,
        ).values_list("organization_number", "national_identity_number", "user_id")
        by_nin: set[tuple[str, str]] = set()
        by_user: set[tuple[str, int]] = set()
        for organization, nin, user_id in rights:
            if nin is not None:
                by_nin.add((organization, nin))
            if user_id is not None:
                by_user.add((organization, user_id))
        return {
            question
            for question in questions
            if (
                question.national_identity_number is not None
                and (question.organization_number, question.national_identity_number) in by_nin
            )
            or (question.user_id is not None and (question.organization_number, question.user_id) in by_user)
        }
