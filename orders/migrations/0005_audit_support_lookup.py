from django.db import migrations, models


class Migration(migrations.Migration):
    # Only the choices of the audit action change (no schema change in the database).
    dependencies = [
        ("orders", "0004_order_chain_dialogporten"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditentry",
            name="action",
            field=models.CharField(
                choices=[
                    ("notification_retry", "Notification retry"),
                    ("order_cancel", "Order cancel"),
                    ("registry_add", "Registry entry added"),
                    ("registry_change", "Registry entry changed"),
                    ("registry_delete", "Registry entry deleted"),
                    ("registry_import", "Registry CSV import"),
                    ("report_reapply", "Delivery report re-applied"),
                    ("callback_resend", "Status callback re-sent"),
                    ("callback_secret_change", "Callback secret rotated or deactivated"),
                    ("support_lookup", "Support lookup of a recipient's notifications"),
                ],
                max_length=32,
            ),
        ),
    ]
