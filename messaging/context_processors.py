from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from clinics.models import Role
from messaging.selectors import unread_total


def chat_unread(request: HttpRequest) -> dict:
    """The counsellor's unread conversations for the navigation, counted only when a page
    shows it (lazily)."""
    membership = getattr(request, "membership", None)
    if membership is None or membership.role != Role.COUNSELLOR:
        return {}
    return {
        "nav_chat_unread": SimpleLazyObject(lambda: unread_total(membership.clinic, request.user))
    }
