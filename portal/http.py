from collections.abc import Sequence

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict


def posted_data(request: HttpRequest) -> QueryDict | None:
    """Form data for a POST, None otherwise. (`request.POST or None` would leave an empty POST,
    such as an unticked checkbox alone, unbound and silently ignored.)"""
    return request.POST if request.method == "POST" else None


class CountedPaginator(Paginator):
    """A paginator told its object count, when the page has counted the rows already (e.g. the
    period statistics): Paginator would run a COUNT query of its own."""

    def __init__(self, object_list: Sequence | QuerySet, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self.count = count  # shadows Paginator.count, a cached_property
