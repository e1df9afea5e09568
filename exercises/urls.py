from django.urls import path

from exercises import views

app_name = "exercises"

urlpatterns = [
    # The library and the clinic's templates: the team's material, no patient's record.
    path("", views.library, name="library"),
    path("new/", views.exercise_new, name="new"),
    path("<int:exercise_id>/", views.exercise_detail, name="detail"),
    path("<int:exercise_id>/edit/", views.exercise_edit, name="edit"),
    path("<int:exercise_id>/copy/", views.exercise_copy, name="copy"),
    path("<int:exercise_id>/archive/", views.exercise_archive, name="archive"),
    path("<int:exercise_id>/media/", views.exercise_media_add, name="media_add"),
    path("media/<uuid:media_id>/", views.exercise_media, name="media"),
    path("media/<uuid:media_id>/delete/", views.exercise_media_delete, name="media_delete"),
    path("templates/", views.template_list, name="templates"),
    path("templates/new/", views.template_new, name="template_new"),
    path("templates/<int:template_id>/", views.template_edit, name="template_edit"),
    path("templates/<int:template_id>/delete/", views.template_delete, name="template_delete"),
    # A patient's programs, for the team (each request one access-log entry).
    path("patient/<int:patient_id>/", views.patient_programs, name="programs"),
    path("patient/<int:patient_id>/timeline/", views.timeline, name="timeline"),
    path("patient/<int:patient_id>/new/", views.program_new, name="program_new"),
    path("patient/<int:patient_id>/<int:program_id>/", views.program_detail, name="program"),
    path(
        "patient/<int:patient_id>/<int:program_id>/edit/", views.program_edit, name="program_edit"
    ),
    path(
        "patient/<int:patient_id>/<int:program_id>/versions/<int:number>/",
        views.program_version,
        name="program_version",
    ),
    path(
        "patient/<int:patient_id>/<int:program_id>/stop/", views.program_stop, name="program_stop"
    ),
    path(
        "patient/<int:patient_id>/<int:program_id>/template/",
        views.program_save_as_template,
        name="program_save_as_template",
    ),
    # The patient's own day.
    path("me/<int:record_id>/", views.my_day, name="my_day"),
    path("me/<int:record_id>/reminders/", views.my_reminders, name="my_reminders"),
    path("me/<int:record_id>/media/<uuid:media_id>/", views.my_exercise_media, name="my_media"),
]
