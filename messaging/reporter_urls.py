"""The reporter's pages and endpoints, public, under /m/ (the session cookie's path)."""

from django.urls import path

from messaging import reporter_views

app_name = "reporter"

urlpatterns = [
    path("", reporter_views.join, name="join"),
    path("chat/", reporter_views.chat, name="chat"),
    path("api/code/", reporter_views.api_code, name="api_code"),
    path("api/join/", reporter_views.api_join, name="api_join"),
    path("api/challenge/", reporter_views.api_challenge, name="api_challenge"),
    path("api/session/", reporter_views.api_session, name="api_session"),
    path("api/recover/", reporter_views.api_recover, name="api_recover"),
    path("api/sign-out/", reporter_views.api_sign_out, name="api_sign_out"),
    path("api/messages/", reporter_views.api_messages, name="api_messages"),
]
