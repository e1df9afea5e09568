from django.http import HttpRequest, QueryDict


def posted_data(request: HttpRequest) -> QueryDict | None:
    """Form data for a POST, None otherwise. (`request.POST or None` would leave an empty POST,
    such as an unticked checkbox alone, unbound and silently ignored.)"""
    return request.POST if request.method == "POST" else None
