from django.urls import path

from documents import views

app_name = "documents"

urlpatterns = [
    # The clinic's staff: professionals and admins, each request logged (part "documents").
    path("patients/<int:patient_id>/", views.document_list_view, name="list"),
    path("patients/<int:patient_id>/upload/", views.document_upload_view, name="upload"),
    path("patients/<int:patient_id>/<uuid:document_id>/", views.document_detail, name="detail"),
    path("patients/<int:patient_id>/<uuid:document_id>/file/", views.document_download,
         name="download"),
    path("patients/<int:patient_id>/<uuid:document_id>/preview/", views.document_preview,
         name="preview"),
    path("patients/<int:patient_id>/<uuid:document_id>/staff-only/", views.document_staff_only,
         name="staff_only"),
    path("patients/<int:patient_id>/<uuid:document_id>/delete/", views.document_delete_view,
         name="delete"),
    # The patient: their own record's documents that are not staff-only.
    path("my/<int:record_id>/", views.my_document_list, name="my_list"),
    path("my/<int:record_id>/upload/", views.my_document_upload, name="my_upload"),
    path("my/<int:record_id>/<uuid:document_id>/", views.my_document_detail, name="my_detail"),
    path("my/<int:record_id>/<uuid:document_id>/file/", views.my_document_download,
         name="my_download"),
    path("my/<int:record_id>/<uuid:document_id>/preview/", views.my_document_preview,
         name="my_preview"),
    path("my/<int:record_id>/<uuid:document_id>/delete/", views.my_document_delete,
         name="my_delete"),
]  # fmt: skip
