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
