"""`manage.py lockout_reset EMAIL...`: lift the lockout of accounts by their e-mail address.

Axes stores a keyed hash, not the address (clinics.security.lockout_identifier), so axes's own
`axes_reset_username` would need the hash. A locked client address is left alone; axes's
`axes_reset_ip ADDRESS` lifts that.
"""

from axes.handlers.proxy import AxesProxyHandler
from django.core.management.base import BaseCommand, CommandParser

from clinics.security import lockout_identifier


class Command(BaseCommand):
    help = "Clear the recorded login failures of the accounts with these e-mail addresses."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("emails", nargs="+", metavar="EMAIL")

    def handle(self, *args: object, emails: list[str], **options: object) -> None:
        for email in emails:
            count = AxesProxyHandler.reset_attempts(username=lockout_identifier(email))
            self.stdout.write(f"{email}: cleared {count} lockout record(s).")
