
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('messaging', '0003_retired_chat_keys'),
    ]

    operations = [
        migrations.AddField(
            model_name='thread',
            name='last_patient_message_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='thread',
            name='last_message_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        # Threads already written in: the patient's newest message; an empty thread has no
        # last message (it was the time the thread was opened).
        migrations.RunSQL(
            """
            UPDATE messaging_thread t SET
                last_patient_message_at = (
                    SELECT max(m.created_at) FROM messaging_clinicmessage m
                    WHERE m.thread_id = t.id AND m.from_patient
                ),
                last_message_at = (
                    SELECT max(m.created_at) FROM messaging_clinicmessage m
                    WHERE m.thread_id = t.id
                )
            """,
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
