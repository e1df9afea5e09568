from django.urls import path

from patients import views

app_name = "patients"

urlpatterns = [
    path("", views.patient_list_view, name="list"),
    path("new/", views.patient_create_view, name="create"),
    path("<int:patient_id>/", views.patient_detail, name="detail"),
    path("<int:patient_id>/edit/", views.patient_edit, name="edit"),
    path("<int:patient_id>/invite/", views.patient_invite_view, name="invite"),
    path("me/", views.my_records, name="my_records"),
    path("me/access-log/", views.my_access_log, name="my_access_log"),
]
