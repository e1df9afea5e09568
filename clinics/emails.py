"""Transactional e-mail. Messages say what happened and where to go, never health data."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation


def send_templated_mail(*, template: str, to: str, context: dict, language: str | None) -> None:
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = render_to_string(f"{template}_subject.txt", context).strip()
        body = render_to_string(f"{template}_message.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])


def send_templated_mail_in_every_language(*, template: str, to: str, context: dict) -> None:
    """For a notice to someone whose language the portal does not know (a security notice
    about their account): the message in every language of the site, the default first."""
    subjects, bodies = [], []
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            subjects.append(render_to_string(f"{template}_subject.txt", context).strip())
            bodies.append(render_to_string(f"{template}_message.txt", context).strip())
    subject = " / ".join(dict.fromkeys(subjects))
    send_mail(subject, "\n\n---\n\n".join(bodies) + "\n", settings.DEFAULT_FROM_EMAIL, [to])
