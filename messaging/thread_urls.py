from django.urls import path

from messaging import thread_views as views

app_name = "clinic_messages"

urlpatterns = [
    # The patient: one thread per record (a patient of two clinics has two).
    path("key/", views.my_key, name="my_key"),
    path("api/key/", views.my_api_key, name="my_api_key"),
    path("<int:record_id>/", views.my_thread, name="my_thread"),
    path("<int:record_id>/api/directory/", views.my_api_directory, name="my_api_directory"),
    path("<int:record_id>/api/messages/", views.my_api_messages, name="my_api_messages"),
    path("<int:record_id>/files/<uuid:message_id>/", views.my_attachment, name="my_attachment"),
    # The clinic's team: professionals and admins.
    path("team/", views.team_inbox, name="team_inbox"),
    path("team/key/", views.team_key, name="team_key"),
    path("team/api/key/", views.team_api_key, name="team_api_key"),
    path("team/api/directory/", views.team_api_directory, name="team_api_directory"),
    path("team/api/inbox/", views.team_api_inbox, name="team_api_inbox"),
    path("team/api/rewrap/", views.team_api_rewrap, name="team_api_rewrap"),
    path("team/api/t/<uuid:thread_id>/messages/", views.team_api_messages,
         name="team_api_messages"),
    path("team/<int:patient_id>/", views.team_thread, name="team_thread"),
    path("team/<int:patient_id>/status/", views.team_thread_status, name="team_thread_status"),
    path("team/<int:patient_id>/assign/", views.team_thread_assign, name="team_thread_assign"),
    path("team/<int:patient_id>/files/<uuid:message_id>/", views.team_attachment,
         name="team_attachment"),
]  # fmt: skip
