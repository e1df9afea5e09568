"""Photos and videos of a clinic's exercises (exercises/media.py): typed by content, capped,
stored under random names, served inline with nosniff and byte ranges, only to the clinic's
team and to its patients whose program has the exercise; hostile files refused, nothing kept."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from documents.tests import samples
from exercises import services
from exercises.media import MEDIA_FOLDER
from exercises.models import Exercise, ExerciseMedia
from exercises.tests.test_programs import program_for
from portal import private_files

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_storage(private_root) -> None:
    """Every test stores its files in a folder of its own."""


@pytest.fixture
def own(alice, patient_a) -> Exercise:
    return services.exercise_copy(
        patient_a.clinic, alice, Exercise.objects.base().order_by("key")[0]
    )


def upload(client, exercise, content: bytes, name: str):
    return client.post(
        reverse("exercises:media_add", args=[exercise.pk]),
        {"file": SimpleUploadedFile(name, content, content_type="application/octet-stream")},
    )


def stored() -> list[str]:
    return private_files.names_in(MEDIA_FOLDER)


def test_a_photo_is_served_inline_to_the_team_and_the_patient_with_the_exercise(
    client_for, alice, paul, patient_a, own, charlie
):
    response = upload(client_for(alice), own, samples.image("PNG"), "knie.png")
    assert response.status_code == 302
    media = ExerciseMedia.objects.get(exercise=own)
    assert media.content_type == "image/png" and "knie" not in media.stored_name
    served = client_for(alice).get(reverse("exercises:media", args=[media.pk]))
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Disposition"].startswith("inline")
    mine = reverse("exercises:my_media", args=[patient_a.pk, media.pk])
    assert client_for(paul).get(mine).status_code == 404  # no program with it yet
    program_for(patient_a, alice, own)
    assert client_for(paul).get(mine).status_code == 200
    day = client_for(paul).get(reverse("exercises:my_day", args=[patient_a.pk])).content.decode()
    assert mine in day
    # Another clinic's professional: as if it did not exist.
    assert client_for(charlie).get(reverse("exercises:media", args=[media.pk])).status_code == 404


def test_a_video_answers_byte_ranges(client_for, alice, own):
    upload(client_for(alice), own, samples.MOV, "oefening.mov")
    media = ExerciseMedia.objects.get(exercise=own)
    assert media.is_video
    response = client_for(alice).get(
        reverse("exercises:media", args=[media.pk]), HTTP_RANGE="bytes=0-99"
    )
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 0-99/{len(samples.MOV)}"
    assert b"".join(response.streaming_content) == samples.MOV[:100]


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (samples.WINDOWS_EXE, "oefening.mp4"),
        (samples.HTML_PAGE, "foto.jpg"),
        (samples.SVG_WITH_SCRIPT, "foto.svg"),
        (samples.SVG_WITH_SCRIPT, "foto.png"),
        (samples.GIF_HTML_POLYGLOT, "foto.gif"),
        (samples.PDF, "schema.pdf"),  # a document, not a photo or video
        (b"", "leeg.png"),
    ],
)
def test_hostile_or_wrong_files_are_refused_and_nothing_is_kept(
    client_for, alice, own, content, name
):
    response = upload(client_for(alice), own, content, name)
    assert response.status_code == 400
    assert "error" in response.content.decode()
    assert not ExerciseMedia.objects.exists() and stored() == []


def test_an_oversized_upload_is_refused_before_it_is_read(client_for, alice, own, settings):
    settings.EXERCISE_MEDIA_MAX_BYTES = 1024
    response = upload(
        client_for(alice), own, samples.image("PNG", (200, 200)) + bytes(4096), "groot.png"
    )
    assert response.status_code == 413
    assert not ExerciseMedia.objects.exists() and stored() == []


def test_base_exercises_take_no_media_and_removal_deletes_the_file(
    client_for, alice, own, django_capture_on_commit_callbacks
):
    base = Exercise.objects.base().order_by("key")[1]
    assert upload(client_for(alice), base, samples.image("PNG"), "x.png").status_code == 404
    upload(client_for(alice), own, samples.image("JPEG"), "x.jpg")
    media = ExerciseMedia.objects.get()
    assert private_files.exists(name=media.stored_name)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alice).post(reverse("exercises:media_delete", args=[media.pk]))
    assert response.status_code == 302
    assert not ExerciseMedia.objects.exists() and stored() == []
