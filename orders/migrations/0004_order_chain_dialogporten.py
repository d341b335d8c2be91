# Nullable columns: no table rewrite, safe while the previous release runs.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0003_external_identity_served_positions"),
    ]

    operations = [
        migrations.AddField(
            model_name="orderchain",
            name="dialog_id",
            field=models.CharField(blank=True, max_length=200, null=True),
        ),
        migrations.AddField(
            model_name="orderchain",
            name="transmission_id",
            field=models.CharField(blank=True, max_length=200, null=True),
        ),
    ]
