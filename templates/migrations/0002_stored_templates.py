import uuid

import django.db.models.deletion
from django.db import migrations, models

# A version is immutable: the database refuses to change one, whatever code tries to.
IMMUTABLE_VERSIONS = """
CREATE OR REPLACE FUNCTION stored_template_version_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'stored template versions are immutable' USING ERRCODE = 'check_violation';
END $$;
CREATE TRIGGER stored_template_version_immutable
    BEFORE UPDATE ON notification_templates_storedtemplateversion
    FOR EACH ROW EXECUTE FUNCTION stored_template_version_immutable();
"""
MUTABLE_VERSIONS = """
DROP TRIGGER IF EXISTS stored_template_version_immutable ON notification_templates_storedtemplateversion;
DROP FUNCTION IF EXISTS stored_template_version_immutable();
"""


class Migration(migrations.Migration):

    dependencies = [
        ("notification_templates", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="StoredTemplate",
            fields=[
                ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ("creator", models.CharField(max_length=100)),
                ("type", models.CharField(choices=[("Email", "Email"), ("Sms", "Sms")], max_length=8)),
                ("version", models.PositiveIntegerField(default=1)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("archived_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "indexes": [models.Index(fields=["creator", "-created_at"], name="stored_template_creator")],
            },
        ),
        migrations.CreateModel(
            name="StoredTemplateVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("number", models.PositiveIntegerField()),
                ("name", models.CharField(max_length=200)),
                ("subject", models.TextField(blank=True, default="")),
                ("body", models.TextField()),
                ("content_type", models.CharField(blank=True, default="", max_length=8)),
                ("sender", models.CharField(blank=True, default="", max_length=320)),
                ("fields", models.JSONField(default=list)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "template",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="versions",
                        to="notification_templates.storedtemplate",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("template", "number"), name="stored_template_version_unique")
                ],
            },
        ),
        migrations.AddField(
            model_name="emailtemplate",
            name="stored_version",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="notification_templates.storedtemplateversion",
            ),
        ),
        migrations.AddField(
            model_name="smstemplate",
            name="stored_version",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="notification_templates.storedtemplateversion",
            ),
        ),
        migrations.RunSQL(IMMUTABLE_VERSIONS, MUTABLE_VERSIONS),
    ]
