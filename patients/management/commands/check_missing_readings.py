"""Raise "no reading for N days" alerts now (the daily Celery beat task does the same)."""

from django.core.management.base import BaseCommand

from patients.tasks import alerts_check_missing_readings_task


class Command(BaseCommand):
    help = "Raise alerts for patients whose rules say they have not measured for too long."

    def handle(self, *args: object, **options: object) -> None:
        raised = alerts_check_missing_readings_task()
        self.stdout.write(f"{raised} alert(s) raised.")
