"""Appointments: a record's pages for the clinic's professionals and admins (`patient/...`), the
patient's own (`me/...`), and the public calendar feed (`feed/<token>.ics`)."""

from django.urls import path

from appointments import views

app_name = "appointments"

urlpatterns = [
    # The clinic's professionals and admins, per patient record.
    path("patient/<int:patient_id>/", views.appointment_list, name="list"),
    path("patient/<int:patient_id>/new/", views.appointment_create, name="create"),
    path("patient/<int:patient_id>/<int:appointment_id>/edit/", views.appointment_edit,
         name="edit"),
    path("patient/<int:patient_id>/<int:appointment_id>/cancel/", views.appointment_cancel_view,
         name="cancel"),
    # The patient, per record (a patient of two clinics has two lists and two feeds).
    path("me/<int:record_id>/", views.my_appointments, name="my_list"),
    path("me/<int:record_id>/<int:appointment_id>.ics", views.my_appointment_ics, name="my_ics"),
    path("me/<int:record_id>/feed/", views.my_feed_issue, name="my_feed_issue"),
    path("me/<int:record_id>/feed/stop/", views.my_feed_revoke, name="my_feed_revoke"),
    # Calendar apps, without a session: the secret token is the credential.
    path("feed/<str:token>.ics", views.feed, name="feed"),
]  # fmt: skip
