"""Demo data (`make run`): clinics.demo makes the clinics, staff and operator; the feature apps'
seeders add theirs. Idempotent."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from clinics.demo import demo_seed


class Command(BaseCommand):
    help = "Create demo clinics, staff and patients (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--credentials-out", type=Path, help="Write the demo logins as JSON.")
        parser.add_argument(
            "--force", action="store_true", help="Also run with DEMO off (never in production)."
        )

    def handle(self, *args: object, credentials_out: Path | None, force: bool, **options: object):
        if not settings.DEMO and not force:
            raise CommandError("seed_demo makes known logins: run it with DEMO=true, or --force.")
        with transaction.atomic():
            credentials = demo_seed()
        if credentials_out:
            credentials_out.write_text(json.dumps(credentials, indent=2, ensure_ascii=False) + "\n")
            credentials_out.chmod(0o600)
            self.stdout.write(f"Wrote {len(credentials)} demo logins to {credentials_out}.")
        else:
            self.stdout.write(f"{len(credentials)} demo logins ready (use --credentials-out).")
