from django.urls import path

from messaging import views

app_name = "messaging"

urlpatterns = [
    # The counsellor.
    path("", views.inbox, name="inbox"),
    path("key/", views.key, name="key"),
    path("c/<uuid:conversation_id>/", views.conversation, name="conversation"),
    path("c/<uuid:conversation_id>/status/", views.conversation_status, name="conversation_status"),
    path("api/key/", views.api_key, name="api_key"),
    path("api/directory/", views.api_directory, name="api_directory"),
    path("api/inbox/", views.api_inbox, name="api_inbox"),
    path("api/c/<uuid:conversation_id>/messages/", views.api_messages, name="api_messages"),
    path("api/rewrap/", views.api_rewrap, name="api_rewrap"),
    # The clinic admin.
    path("manage/", views.chat_admin, name="chat_admin"),
    path("manage/api/clinic-key/", views.api_clinic_key, name="api_clinic_key"),
    path("manage/api/certify/", views.api_certify_list, name="api_certify_list"),
    path("manage/api/certify/<int:staff_key_id>/", views.api_certify, name="api_certify"),
    path(
        "manage/certificates/<int:certificate_id>/revoke/",
        views.certificate_revoke,
        name="certificate_revoke",
    ),
    path("manage/organisations/", views.organisations, name="organisations"),
    path("manage/organisations/<int:organisation_id>/", views.organisation, name="organisation"),
    path(
        "manage/organisations/<int:organisation_id>/poster/",
        views.organisation_poster,
        name="organisation_poster",
    ),
    path(
        "manage/organisations/<int:organisation_id>/qr.svg",
        views.organisation_qr,
        name="organisation_qr",
    ),
    path(
        "manage/organisations/<int:organisation_id>/rotate/",
        views.code_rotate,
        name="code_rotate",
    ),
    path("manage/organisations/<int:organisation_id>/close/", views.code_close, name="code_close"),
    path("manage/usage/", views.usage, name="usage"),
]
