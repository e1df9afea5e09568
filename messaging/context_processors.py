from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from clinics.models import Role
from messaging.selectors import unread_total
from messaging.thread_selectors import team_unread_total


def chat_unread(request: HttpRequest) -> dict:
    """What waits unread for the navigation, counted only when a page shows it (lazily): the
    counsellor's conversations, or the team member's patient threads."""
    membership = getattr(request, "membership", None)
    if membership is None:
        return {}
    if membership.role == Role.COUNSELLOR:
        return {
            "nav_chat_unread": SimpleLazyObject(
                lambda: unread_total(membership.clinic, request.user)
            )
        }
    if membership.role in (Role.PROFESSIONAL, Role.CLINIC_ADMIN):
        return {
            "nav_team_unread": SimpleLazyObject(
                lambda: team_unread_total(membership.clinic, request.user)
            )
        }
    return {}
