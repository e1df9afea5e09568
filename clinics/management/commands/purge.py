"""`manage.py purge [--dry-run] [--only NAME ...]`: the retention purges (clinics.retention) by
hand; beat runs the same service hourly (clinics.tasks.retention_purge)."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from clinics.models import PurgeOutcome, PurgeRun
from clinics.retention import purge_names, purges_run


class Command(BaseCommand):
    help = "Delete or anonymise personal data whose retention period has ended."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what is due; purge nothing."
        )
        parser.add_argument("--only", nargs="+", metavar="NAME", choices=purge_names())

    def handle(self, *args: object, dry_run: bool, only: list[str] | None, **options: object):
        runs = purges_run(dry_run=dry_run, only=only)
        for run in runs:
            self.stdout.write(describe(run))
        if failed := [run.name for run in runs if run.outcome == PurgeOutcome.FAILED]:
            raise CommandError(f"Failed: {', '.join(failed)} (see the log).")


def describe(run: PurgeRun) -> str:
    cutoff = f"older than {run.cutoff_at:%Y-%m-%d %H:%M:%S %Z}"
    if run.is_dry_run:
        return f"{run.name}: would purge {run.rows_expired} rows ({cutoff})"
    if run.outcome == PurgeOutcome.SKIPPED:
        return f"{run.name}: skipped, another run holds its lock"
    done = f"purged {run.rows_purged} rows in {run.batches} batches ({cutoff})"
    return f"{run.name}: {done}" + (", then failed" if run.outcome == PurgeOutcome.FAILED else "")
