from django.urls import path

from patients import views
from patients.measurements import alert_views as av
from patients.measurements import import_views as iv
from patients.measurements import views as mv

app_name = "patients"

urlpatterns = [
    path("", views.patient_list_view, name="list"),
    path("new/", views.patient_create_view, name="create"),
    # The record's home page (a professional's overview); its contact details one click away.
    path("<int:patient_id>/", views.patient_overview, name="overview"),
    path("<int:patient_id>/details/", views.patient_detail, name="detail"),
    path("<int:patient_id>/edit/", views.patient_edit, name="edit"),
    path("<int:patient_id>/invite/", views.patient_invite_view, name="invite"),
    # Measurements, seen by a professional of the patient's clinic.
    path("<int:patient_id>/measurements/", mv.measurements, name="measurements"),
    path("<int:patient_id>/measurements/new/", mv.measurement_add, name="measurement_add"),
    path("<int:patient_id>/measurements/fhir.json", mv.fhir_export, name="fhir_export"),
    path("<int:patient_id>/imports/new/", iv.import_new, name="import_new"),
    path("<int:patient_id>/imports/<int:batch_id>/", iv.import_detail, name="import_detail"),
    path("<int:patient_id>/imports/<int:batch_id>/columns/", iv.import_mapping,
         name="import_mapping"),
    path("<int:patient_id>/imports/<int:batch_id>/confirm/", iv.import_confirm_view,
         name="import_confirm"),
    path("<int:patient_id>/imports/<int:batch_id>/cancel/", iv.import_cancel_view,
         name="import_cancel"),
    path("<int:patient_id>/thresholds/", av.patient_thresholds, name="thresholds"),
    path("<int:patient_id>/thresholds/<int:rule_id>/remove/", av.patient_threshold_remove,
         name="threshold_remove"),
    path("<int:patient_id>/alerts/<int:alert_id>/acknowledge/", av.alert_ack, name="alert_ack"),
    path("thresholds/", av.clinic_thresholds, name="clinic_thresholds"),
    path("thresholds/<int:rule_id>/remove/", av.clinic_threshold_remove,
         name="clinic_threshold_remove"),
    # The patient's own pages.
    path("me/", views.my_records, name="my_records"),
    path("me/access-log/", views.my_access_log, name="my_access_log"),
    path("me/<int:record_id>/measurements/", mv.my_measurements, name="my_measurements"),
    path("me/<int:record_id>/measurements/new/", mv.my_measurement_add,
         name="my_measurement_add"),
    path("me/<int:record_id>/measurements/fhir.json", mv.my_fhir_export,
         name="my_fhir_export"),
    path("me/<int:record_id>/imports/new/", iv.my_import_new, name="my_import_new"),
    path("me/<int:record_id>/imports/<int:batch_id>/", iv.my_import_detail,
         name="my_import_detail"),
    path("me/<int:record_id>/imports/<int:batch_id>/columns/", iv.my_import_mapping,
         name="my_import_mapping"),
    path("me/<int:record_id>/imports/<int:batch_id>/confirm/", iv.my_import_confirm,
         name="my_import_confirm"),
    path("me/<int:record_id>/imports/<int:batch_id>/cancel/", iv.my_import_cancel,
         name="my_import_cancel"),
]  # fmt: skip
