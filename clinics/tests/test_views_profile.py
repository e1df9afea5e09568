"""My details: staff set the name their colleagues see; a patient's account keeps no name."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from clinics.models import User
from clinics.services import user_set_display_name
from clinics.tests.factories import UserFactory
from conftest import login

pytestmark = pytest.mark.django_db

PROFILE = reverse("clinics:profile")


def name_of(user: User) -> str:
    user.refresh_from_db()
    return user.display_name


def english(client: Client) -> Client:
    client.cookies["django_language"] = "en"
    return client


def test_a_name_set_on_my_details_is_shown_on_the_team_page(client_for, alice, adam):
    """Alice names herself; the clinic admin's team page shows the name instead of a dash."""
    response = client_for(alice).post(PROFILE, {"display_name": "Alice Jansen-Smit"})
    assert response.status_code == 302 and response["Location"] == PROFILE
    assert name_of(alice) == "Alice Jansen-Smit"
    team = client_for(adam).get(reverse("clinics:staff")).content.decode()
    assert "Alice Jansen-Smit" in team


def test_my_details_shows_the_current_name_and_a_save_button(client_for, alice):
    """The form is filled in with the name as it is, under the account's sub-navigation."""
    alice.display_name = "Alice Jansen"
    alice.save()
    page = english(client_for(alice)).get(PROFILE).content.decode()
    assert 'value="Alice Jansen"' in page and 'autocomplete="name"' in page
    assert "alice@noord.example" in page
    assert f'href="{reverse("account_change_password")}"' in page  # the account's subnav


def test_the_account_link_of_the_navigation_opens_my_details(client_for, alice, paul):
    """Every role reaches the page from the main navigation's "Account"."""
    for user in (alice, paul):
        page = client_for(user).get(reverse("home"), follow=True).content.decode()
        assert f'<a href="{PROFILE}">' in page


def test_the_name_is_trimmed_and_inner_whitespace_made_one_space(client_for, alice):
    """Spaces, tabs and line breaks around and inside the name do not reach the database."""
    client_for(alice).post(PROFILE, {"display_name": "  Alice \t\n  Jansen  "})
    assert name_of(alice) == "Alice Jansen"


def test_an_empty_name_removes_it(client_for, alice, adam):
    """The name is optional: saving only spaces leaves none, and the team page shows a dash."""
    alice.display_name = "Alice Jansen"
    alice.save()
    client_for(alice).post(PROFILE, {"display_name": "   "})
    assert name_of(alice) == ""
    team = client_for(adam).get(reverse("clinics:staff")).content.decode()
    assert "Alice Jansen" not in team


@pytest.mark.parametrize(
    "bad",
    [
        "A" * 151,  # longer than the column
        "Alice\u202eJansen",  # a right-to-left override: a name that reads as another's
        "Alice\x00",  # NUL, which PostgreSQL text cannot hold
        "Alice\x07Jansen",  # another control character
    ],
)
def test_bad_input_changes_nothing_and_says_why(client_for, alice, bad):
    """A refused name is answered on the form (200 with an error); the old name stays."""
    alice.display_name = "Alice Jansen"
    alice.save()
    response = english(client_for(alice)).post(PROFILE, {"display_name": bad})
    assert response.status_code == 200
    assert response.context["form"].errors["display_name"]
    assert 'aria-invalid="true"' in response.content.decode()
    assert name_of(alice) == "Alice Jansen"


def test_a_name_of_exactly_the_columns_length_is_kept(client_for, alice):
    """150 characters is the limit, not one less."""
    client_for(alice).post(PROFILE, {"display_name": "A" * 150})
    assert name_of(alice) == "A" * 150


def test_a_post_without_the_csrf_token_is_refused(alice):
    """A forged form from another site changes nothing (403)."""
    client = login(Client(enforce_csrf_checks=True), alice)
    response = client.post(PROFILE, {"display_name": "Mallory"})
    assert response.status_code == 403
    assert name_of(alice) == ""


def test_signed_out_visitors_are_sent_to_the_login_page(client):
    """No page for anyone not signed in."""
    response = client.get(PROFILE)
    assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_a_patient_sees_where_their_name_is_kept_and_cannot_store_one(client_for, paul):
    """A patient's account holds no name in clear (it is on the record, encrypted): the page
    has no name field, and a posted name is not stored."""
    client = english(client_for(paul))
    page = client.get(PROFILE).content.decode()
    assert 'name="display_name"' not in page
    assert "kept with your record at your clinic" in page
    assert client.post(PROFILE, {"display_name": "Paul de Vries"}).status_code == 200
    assert name_of(paul) == ""


def test_the_service_refuses_a_name_for_a_patient_only_account(paul, alice):
    """The rule holds whatever calls the service; staff and operators keep their names."""
    with pytest.raises(ValidationError):
        user_set_display_name(user=paul, display_name="Paul de Vries")
    assert name_of(paul) == ""
    user_set_display_name(user=alice, display_name="Alice Jansen")
    operator = UserFactory(email="olga@operator.example", is_staff=True)
    user_set_display_name(user=operator, display_name="Olga")
    assert (name_of(alice), name_of(operator)) == ("Alice Jansen", "Olga")


def test_the_team_page_asks_the_admin_without_a_name_to_add_theirs(client_for, adam):
    """A nudge on one's own row only: others' rows without a name show a dash."""
    team = english(client_for(adam)).get(reverse("clinics:staff")).content.decode()
    assert f'<a href="{PROFILE}">Add your name</a>' in team
    assert team.count("Add your name") == 1
