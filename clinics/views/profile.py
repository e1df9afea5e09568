"""The signed-in person's own details ("My details"), first page of the account section."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from clinics.access import authenticated
from clinics.forms import DisplayNameForm
from clinics.selectors import user_keeps_name
from clinics.services import user_set_display_name
from portal.http import posted_data


@authenticated
def profile(request: HttpRequest) -> HttpResponse:
    """Staff and operators set the name colleagues see; a patient's account holds no name (it
    is on their record, encrypted), so the page says where it is kept instead of asking."""
    form = None
    if user_keeps_name(user=request.user):
        form = DisplayNameForm(
            posted_data(request), initial={"display_name": request.user.display_name}
        )
        if request.method == "POST" and form.is_valid():
            user_set_display_name(user=request.user, **form.cleaned_data)
            messages.success(request, _("Your name has been saved."))
            return redirect("clinics:profile")
    return render(request, "clinics/profile.html", {"form": form})
