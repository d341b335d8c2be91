from django.db import migrations, models


class Migration(migrations.Migration):
    # Safe while the previous release runs: nullable columns on the registry's organization contacts (no
    # table rewrite; existing rows stay the organizations' own addresses) and a new table.

    dependencies = [
        ("orders", "0007_composed_email"),
    ]

    operations = [
        migrations.AddField(
            model_name="organizationcontact",
            name="national_identity_number",
            field=models.CharField(
                blank=True,
                help_text="Only for a contact point a person registered for the organization.",
                max_length=11,
                null=True,
                verbose_name="person's national identity number",
            ),
        ),
        migrations.AddField(
            model_name="organizationcontact",
            name="user_id",
            field=models.PositiveBigIntegerField(
                blank=True,
                help_text="The person's user id in the authorization service, if known.",
                null=True,
                verbose_name="person's user id",
            ),
        ),
        migrations.AddConstraint(
            model_name="organizationcontact",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("national_identity_number__isnull", True),
                    ("national_identity_number__regex", "^[0-9]{11}$"),
                    _connector="OR",
                ),
                name="org_contact_person_nin_11_digits",
            ),
        ),
        migrations.CreateModel(
            name="ResourceRight",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "organization_number",
                    models.CharField(help_text="The organization acted for (9 digits).", max_length=9),
                ),
                (
                    "national_identity_number",
                    models.CharField(
                        blank=True,
                        help_text="The person (11 digits), or leave empty for a user id.",
                        max_length=11,
                        null=True,
                    ),
                ),
                (
                    "user_id",
                    models.PositiveBigIntegerField(blank=True, help_text="The person's user id.", null=True),
                ),
                ("resource_id", models.CharField(help_text="urn:altinn:resource:<id>", max_length=500)),
                (
                    "action",
                    models.CharField(default="read", help_text="e.g. read, write, sign.", max_length=200),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "indexes": [models.Index(fields=["resource_id", "action"], name="resource_right_lookup")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("organization_number", "national_identity_number", "user_id", "resource_id", "action"),
                        name="resource_right_unique",
                        nulls_distinct=False,
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("organization_number__regex", "^[0-9]{9}$")),
                        name="resource_right_orgno_9_digits",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("national_identity_number__isnull", True),
                            ("national_identity_number__regex", "^[0-9]{11}$"),
                            _connector="OR",
                        ),
                        name="resource_right_nin_11_digits",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("national_identity_number__isnull", False), ("user_id__isnull", False), _connector="OR"
                        ),
                        name="resource_right_has_person",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("resource_id__regex", "^urn:altinn:resource:.*[^[:space:]].*$")),
                        name="resource_right_resource_urn",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("action", ""), _negated=True), name="resource_right_action_not_empty"
                    ),
                ],
            },
        ),
    ]
