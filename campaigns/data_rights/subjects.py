"""Whose data: the learner and the manager rows an email address or an LMS id names."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Q

from campaigns.data_rights.policy import Personal
from learners.erasure import erased_among
from learners.models import Learner, Manager, normalize_email


@dataclass(frozen=True)
class Subject:
    """The person whose data is exported or erased: a learner, their manager row (when they
    manage people too), a manager who is no learner, or only an address already erased (an
    ESP event or LMS statement that named it arrived after the erasure)."""

    identifier: str
    learner: Learner | None
    managers: tuple[Manager, ...]
    erased_address: str = ""

    @property
    def address(self) -> str:
        if self.learner is not None:
            return self.learner.email
        if self.managers:
            return self.managers[0].email
        return self.erased_address

    @property
    def learner_ids(self) -> list[int]:
        return [self.learner.pk] if self.learner is not None else []

    @property
    def manager_ids(self) -> list[int]:
        return [manager.pk for manager in self.managers]

    def rows(self, personal: Personal) -> Q:
        """The rows of a table that are about this person, by the policy's lookups."""
        condition = Q(pk__in=[])
        for lookup in personal.learner:
            condition |= Q(**{f"{lookup}__in": self.learner_ids})
        for lookup in personal.manager:
            condition |= Q(**{f"{lookup}__in": self.manager_ids})
        # The whole column, never a part of it: ann@example.com is inside joann@example.com.
        for column in personal.address:
            for spelling in (self.address, f"mailto:{self.address}"):
                condition |= Q(**{f"{column}__iexact": spelling})
        return condition


def subject_of(*, learner: Learner) -> Subject:
    """The subject a learner's row names: the learner and their manager rows."""
    managers = Manager.objects.filter(Q(email=learner.email) | Q(learner=learner)).order_by("pk")
    return Subject(identifier=learner.external_id, learner=learner, managers=tuple(managers))


def find_subject(*, identifier: str) -> Subject:
    """The learner (by email or LMS id) and the manager rows (by email, or linked to that
    learner) that ``identifier`` names; ``ValidationError`` naming it when nobody matches."""
    identifier = identifier.strip()
    if not identifier:
        raise ValidationError("Give the learner's email address or LMS id.")
    email = normalize_email(identifier)
    learners = list(Learner.objects.filter(Q(email=email) | Q(external_id=identifier))[:2])
    if len(learners) > 1:
        raise ValidationError(
            f"{identifier!r} is one learner's email and another's LMS id; "
            "give the LMS id of the one you mean."
        )
    learner = learners[0] if learners else None
    by_learner = Q(learner=learner) if learner is not None else Q(pk__in=[])
    managers = tuple(Manager.objects.filter(Q(email=email) | by_learner).order_by("pk"))
    if learner is None and not managers:
        if "@" in email and erased_among([email]):
            return Subject(identifier=identifier, learner=None, managers=(), erased_address=email)
        raise ValidationError(f"No learner or manager has the email or LMS id {identifier!r}.")
    return Subject(identifier=identifier, learner=learner, managers=managers)
