"""Name search through the blind index: prefixes, accents, AND, tenancy, no plaintext at rest."""

from __future__ import annotations

import hashlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinics.models import AccessAction, AccessLogEntry
from patients.models import PatientNameToken
from patients.selectors import patient_list
from patients.tests.factories import PatientFactory


@pytest.fixture
def omer(clinic_a):
    return PatientFactory(clinic=clinic_a, given_name="Ömer", family_name="van den Bergh-Yildiz")


@pytest.fixture
def anna(clinic_a):
    return PatientFactory(clinic=clinic_a, given_name="Anna", family_name="Bergman")


@pytest.fixture
def omer_in_b(clinic_b):
    """Same name, other clinic: must never show up in clinic A's results."""
    return PatientFactory(clinic=clinic_b, given_name="Ömer", family_name="van den Bergh-Yildiz")


def search(clinic, text: str) -> set:
    return set(patient_list(clinic=clinic, search=text))


@pytest.mark.parametrize("text", ["ome", "Öm", "OMER", "ömer", "Ömer", "öME", "Omer"])
def test_search_matches_name_prefixes_ignoring_case_and_accents(db, clinic_a, omer, anna, text):
    """A prefix of two letters or more finds the patient, whatever the case or accents typed."""
    assert search(clinic_a, text) == {omer}


def test_search_matches_every_word_of_a_compound_family_name(db, clinic_a, omer, anna):
    """Each part of 'van den Bergh-Yildiz' is a word of its own; 'berg' finds both Berg-names."""
    assert search(clinic_a, "bergh") == {omer}
    assert search(clinic_a, "den") == {omer}
    assert search(clinic_a, "berg") == {omer, anna}


def test_search_needs_two_letters(db, clinic_a, omer, anna):
    """A single letter is too broad to be a prefix search: it matches nobody."""
    assert search(clinic_a, "o") == set()
    assert search(clinic_a, "a") == set()


def test_search_with_several_words_requires_all_of_them(db, clinic_a, omer, anna):
    """'an berg' is two prefixes that must both match the same patient (AND, not OR)."""
    assert search(clinic_a, "an berg") == {anna}
    assert search(clinic_a, "omer bergh") == {omer}
    assert search(clinic_a, "omer bergman") == set()
    assert search(clinic_a, "  ÖMER,   van ") == {omer}


def test_search_without_words_matches_nobody(db, clinic_a, omer):
    """Punctuation only is not a search for everyone."""
    assert search(clinic_a, "--  ,") == set()


def test_search_never_returns_another_clinics_patient(db, clinic_a, clinic_b, omer, omer_in_b):
    """The same name in clinic B stays invisible to clinic A's search, and the other way round."""
    assert search(clinic_a, "ome") == {omer}
    assert search(clinic_b, "ome") == {omer_in_b}


def test_name_index_table_holds_no_plaintext_or_unkeyed_hash(db, clinic_a, omer):
    """The raw token rows are keyed digests: no name, no prefix, no plain SHA-256 of one."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT digest FROM {PatientNameToken._meta.db_table} WHERE patient_id = %s",  # noqa: S608
            [omer.pk],
        )
        digests = {row[0] for row in cursor.fetchall()}
    assert digests, "the patient should be indexed"
    words = ["ömer", "omer", "om", "van", "den", "bergh", "yildiz", "yi"]
    for digest in digests:
        assert len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)
        assert not any(word in digest for word in words)
    unkeyed = {hashlib.sha256(w.encode()).hexdigest() for w in words}
    assert not digests & unkeyed


def test_patient_list_page_searches_by_name(client_for, alice, omer, anna, omer_in_b):
    """The list page's search box finds the clinic's patient and logs the search, not the term."""
    response = client_for(alice).get(reverse("patients:list"), {"q": "ome"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Ömer" in page
    assert "Bergman" not in page
    assert reverse("patients:detail", args=[omer_in_b.pk]) not in page
    entry = AccessLogEntry.objects.get(action=AccessAction.SEARCH)
    assert (entry.user, entry.patient_id, entry.part) == (alice, omer.pk, "measurements")
    assert "ome" not in entry.path + entry.part


def test_patient_list_query_count_does_not_grow_with_patients(
    client_for, alice, clinic_a, django_assert_num_queries
):
    """Five or thirty patients, listed or searched: the same number of queries."""
    client = client_for(alice)
    PatientFactory.create_batch(5, clinic=clinic_a, family_name="Jansen")
    counts = {}
    for params in ({}, {"q": "jans"}):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("patients:list"), params).status_code == 200
        counts[str(params)] = len(queries)

    PatientFactory.create_batch(25, clinic=clinic_a, family_name="Jansen")
    for params in ({}, {"q": "jans"}):
        with django_assert_num_queries(counts[str(params)]):
            response = client.get(reverse("patients:list"), params)
        assert response.content.decode().count("Jansen") == 25  # a full first page


def test_search_folds_the_turkish_dotless_i(db, clinic_a):
    """'yildiz' typed on a Dutch keyboard finds 'Yıldız'."""
    patient = PatientFactory(clinic=clinic_a, given_name="Elif", family_name="Yıldız")
    assert search(clinic_a, "yildiz") == {patient}
