from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from messaging.models import ROLE_PURPOSE, Purpose
from messaging.selectors import unread_total
from messaging.thread_selectors import team_unread_total


def chat_unread(request: HttpRequest) -> dict:
    """What waits unread for the navigation, counted only when a page shows it (lazily): the
    counsellor's conversations, or the team member's patient threads."""
    membership = getattr(request, "membership", None)
    purpose = ROLE_PURPOSE.get(membership.role) if membership is not None else None
    if purpose == Purpose.COUNSELLOR:
        return {
            "nav_chat_unread": SimpleLazyObject(
                lambda: unread_total(membership.clinic, request.user)
            )
        }
    if purpose == Purpose.TEAM:
        return {
            "nav_team_unread": SimpleLazyObject(
                lambda: team_unread_total(membership.clinic, request.user)
            )
        }
    return {}
