"""`manage.py purge_expired_messages [--dry-run]`: the retention purges of the counsellor chat and
of clinic messages (messaging.purges: messages and notes with their wraps and attachments,
conversations and threads, notifications) by hand,
through the one retention service, and the sweep of attachment files no message names; beat runs
the same hourly."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from clinics.management.commands.purge import describe
from clinics.models import PurgeOutcome
from clinics.retention import purges_run
from messaging.purges import CHAT_PURGES, attachment_orphans_delete


class Command(BaseCommand):
    help = "Delete the expired chat and clinic messages, their threads and notices."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what is due; purge nothing."
        )

    def handle(self, *args: object, dry_run: bool, **options: object) -> None:
        runs = purges_run(dry_run=dry_run, only=CHAT_PURGES)
        for run in runs:
            self.stdout.write(describe(run))
        if not dry_run:
            orphans = attachment_orphans_delete()
            self.stdout.write(f"attachment files without a message: {orphans} deleted")
        if failed := [run.name for run in runs if run.outcome == PurgeOutcome.FAILED]:
            raise CommandError(f"Failed: {', '.join(failed)} (see the log).")
