"""factory_boy factories for orders, recipients, templates and notifications.

Defaults describe a plain registered SMS order of creator ``ttd``; override what a test is about.
"""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from orders.models import (
    EmailNotification,
    EmailStatus,
    NotificationChannel,
    Order,
    OrderStatus,
    Recipient,
    SendingTimePolicy,
    SmsNotification,
    SmsStatus,
)
from templates.models import EmailTemplate, SmsTemplate


class EmailTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmailTemplate

    from_address = "noreply@altinn.cloud"
    subject = "A test email from Altinn Notifications"
    body = "A message sent from an application owner through Altinn."
    content_type = "Plain"


class SmsTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SmsTemplate

    sender_number = "Altinn"
    body = "A text message sent by a service owner through Altinn."


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    creator = "ttd"
    senders_reference = factory.Sequence(lambda n: f"ref-{n}")
    requested_send_time = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))
    notification_channel = NotificationChannel.SMS
    sending_time_policy = SendingTimePolicy.DAYTIME
    status = OrderStatus.REGISTERED
    sms_template = factory.SubFactory(SmsTemplateFactory)
    email_template = None

    class Params:
        email = factory.Trait(
            notification_channel=NotificationChannel.EMAIL,
            sending_time_policy=SendingTimePolicy.ANYTIME,
            sms_template=None,
            email_template=factory.SubFactory(EmailTemplateFactory),
        )


class RecipientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Recipient

    order = factory.SubFactory(OrderFactory)
    position = factory.Sequence(lambda n: n)
    mobile_number = "+4799999999"


class EmailNotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmailNotification

    order = factory.SubFactory(OrderFactory, email=True)
    recipient_position = factory.Sequence(lambda n: n)
    to_address = factory.Sequence(lambda n: f"recipient{n}@domain.com")
    status = EmailStatus.NEW
    status_changed_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=48))


class SmsNotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SmsNotification

    order = factory.SubFactory(OrderFactory)
    recipient_position = factory.Sequence(lambda n: n)
    mobile_number = factory.Sequence(lambda n: f"+47999{n % 100000:05d}")
    status = SmsStatus.NEW
    status_changed_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=48))
