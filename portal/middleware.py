from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.cache import add_never_cache_headers

from portal.private_files import too_large_message

V = TypeVar("V", bound=Callable[..., HttpResponse])


class PortalLocaleMiddleware(LocaleMiddleware):
    """Dutch unless the user chose English: the browser's Accept-Language is not consulted,
    because Dutch clinics' shared computers often run English-language browsers."""

    def process_request(self, request: HttpRequest) -> None:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


class NoStoreForAuthenticatedMiddleware:
    """Pages seen by a signed-in user may hold patient data: no browser or proxy keeps them."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.user.is_authenticated:
            add_never_cache_headers(response)
            response["Cache-Control"] = "no-store, private, max-age=0"
        return response


# --- request body size -----------------------------------------------------------------------

# Room for the multipart envelope around an upload: boundaries, part headers, the CSRF token.
UPLOAD_ENVELOPE_BYTES = 64 * 1024


def upload_limit(setting: str) -> Callable[[V], V]:
    """Declare that a view takes uploads of at most `settings.<setting>` bytes: bigger request
    bodies are refused (413) by `UploadLimitMiddleware` before anything reads them. Put it
    outermost, above the view's access decorator."""

    def declare(view: V) -> V:
        view.upload_limit_setting = setting  # type: ignore[attr-defined]
        return view

    return declare


class _CappedUploadHandler(FileUploadHandler):
    """Stops the multipart parser as soon as the uploaded files pass `limit` bytes, whatever
    Content-Length said: nothing more is read or spooled to disk."""

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.request.upload_too_large = True  # type: ignore[attr-defined]
            raise StopUpload(connection_reset=True)
        return raw_data  # on to the next handler (memory or temporary file)

    def file_complete(self, file_size: int) -> None:
        return None


class UploadLimitMiddleware:
    """Refuses an upload that is too large before Django parses the body (CSRF's check would).

    For a view declared with `upload_limit`: a Content-Length above the cap plus the envelope is
    answered 413 at once, unread; otherwise an upload handler stops the parser at the cap, and
    the view's response becomes the same 413. Must come before CsrfViewMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, "upload_too_large", False):
            return self._too_large(request)
        return response

    def process_view(
        self, request: HttpRequest, view: Callable, args: tuple, kwargs: dict
    ) -> HttpResponse | None:
        setting = getattr(view, "upload_limit_setting", None)
        if setting is None or request.method != "POST":
            return None
        limit = getattr(settings, setting)
        request.upload_limit = limit  # type: ignore[attr-defined]
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit + UPLOAD_ENVELOPE_BYTES:
            return self._too_large(request)
        request.upload_handlers.insert(0, _CappedUploadHandler(request, limit))
        return None

    @staticmethod
    def _too_large(request: HttpRequest) -> HttpResponse:
        message = too_large_message(getattr(request, "upload_limit", 0))
        response = HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        response["Connection"] = "close"  # the rest of the body is never read
        return response
