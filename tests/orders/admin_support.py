"""Staff users of each admin group, logged in through the Django test client, and query counting."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext


@pytest.fixture
def groups(db) -> None:
    call_command("ensure_groups", verbosity=0)


def staff_user(username: str, *group_names: str, superuser: bool = False) -> User:
    user = User.objects.create_user(username=username, password="x", is_staff=True, is_superuser=superuser)
    user.groups.set(Group.objects.filter(name__in=group_names))
    return user


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def support(groups) -> User:
    return staff_user("sue-support", "support")


@pytest.fixture
def operator(groups) -> User:
    return staff_user("otto-operator", "operator")


@pytest.fixture
def support_client(support) -> Client:
    return logged_in(support)


@pytest.fixture
def operator_client(operator) -> Client:
    return logged_in(operator)


@pytest.fixture
def superuser_client(db) -> Client:
    return logged_in(staff_user("root", superuser=True))


@pytest.fixture
def staff_without_group_client(db) -> Client:
    return logged_in(staff_user("nobody-in-particular"))


@contextmanager
def count_queries() -> Iterator[CaptureQueriesContext]:
    with CaptureQueriesContext(connection) as context:
        yield context


@pytest.fixture
def count_queries_of() -> Callable[[], AbstractContextManager[CaptureQueriesContext]]:
    """``with count_queries_of() as context:`` captures the queries of the block."""
    return count_queries
