# Leases are keyed by place (a target database's identity, or an ETL output folder), record their holder's
# process and heartbeat, and a Run may hold several. Leases are transient (held only while a Run runs), so the
# table is re-created; a deploy during a running Run makes that Run's next lease check fail, as after a crash.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('jobs', '0004_job_replan_cron_validation'),
    ]

    operations = [
        migrations.DeleteModel(name='TargetLease'),
        migrations.CreateModel(
            name='TargetLease',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('place', models.CharField(help_text='db:<identity> or output:<folder>.', max_length=300, unique=True)),
                ('target_name', models.CharField(help_text='The target name the holder used.', max_length=60, verbose_name='target')),
                ('acquired_at', models.DateTimeField(auto_now_add=True)),
                ('holder', models.CharField(blank=True, help_text='host:pid:start of the process holding it.', max_length=200)),
                ('heartbeat_at', models.DateTimeField(blank=True, help_text='Last sign of life of the holder; a stale lease is taken over.', null=True)),
                ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='leases', to='jobs.run')),
            ],
        ),
    ]
