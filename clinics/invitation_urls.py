from django.urls import path

from clinics.views import invitations

app_name = "invitations"

urlpatterns = [
    path("staff/<str:token>/", invitations.staff_invitation, name="staff"),
    path("patient/<str:token>/", invitations.patient_invitation, name="patient"),
]
