"""allauth's strings that our Dutch catalogue re-translates in the formal "u" form.

Why this module exists: the portal addresses its users as "u" (locale/nl/LC_MESSAGES/django.po),
but django-allauth's own Dutch catalogue says "je/jij/jouw". Its pages, messages, form errors and
e-mails that we do not override would therefore switch register mid-flow. Django looks up a
translation in LOCALE_PATHS before an app's own catalogue, so listing allauth's exact msgids here
makes `make messages` extract them into our catalogue, where they get formal translations.

Nothing imports this module: it exists only for makemessages, and importing it has no side effects
(gettext_noop merely returns its argument). Every msgid must match allauth's source character for
character (see allauth/locale/nl/LC_MESSAGES/django.po), or our translation silently never
applies; tests/test_translations.py renders the main pages and e-mails to catch that.

Listed: the strings whose allauth Dutch is informal and that a user can meet with the features we
enable (e-mail login, sign-up by invitation, mandatory e-mail verification by link, password
reset by link, password change, e-mail management, reauthentication, logout). None of them has a
message context or a plural form.

Deliberately left out, because the setting that would show them is off: social accounts, allauth
MFA/WebAuthn, user sessions, headless, OIDC provider, login by code, phone numbers, verification
and reset by code (ACCOUNT_*_BY_CODE_ENABLED), user names, a second e-mail field,
ACCOUNT_MAX_EMAIL_ADDRESSES, ACCOUNT_CHANGE_EMAIL, ACCOUNT_EMAIL_NOTIFICATIONS (the "your password
has been changed" mails), ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS, the password-set page (denied by
clinics.access) and the verified_email_required decorator (unused). Enabling one of them means
adding its informal strings here.
"""

from django.utils.translation import gettext_noop

# Form validation errors (allauth/account/adapter.py, allauth/account/forms.py).
FORM_ERRORS = (
    gettext_noop("The email address and/or password you specified are not correct."),
    gettext_noop("Please type your current password."),
    gettext_noop("Your primary email address must be verified."),
    gettext_noop("You must type the same password each time."),
)

# Pages (allauth/templates/account/*.html and snippets/).
PAGES = (
    # base_reauthenticate.html, reauthenticate.html
    gettext_noop("Please reauthenticate to safeguard your account."),
    gettext_noop("Enter your password:"),
    # email.html, snippets/warn_no_email.html
    gettext_noop("The following email addresses are associated with your account:"),
    gettext_noop("Do you really want to remove the selected email address?"),
    gettext_noop(
        "You currently do not have any email address set up. You should really add an email "
        "address so you can receive notifications, reset your password, etc."
    ),
    # logout.html
    gettext_noop("Are you sure you want to sign out?"),
    # password_reset.html, snippets/already_logged_in.html
    gettext_noop(
        "Forgotten your password? Enter your email address below, and we'll send you an email "
        "allowing you to reset it."
    ),
    gettext_noop("Please contact us if you have any trouble resetting your password."),
    gettext_noop("You are already logged in as %(user_display)s."),
    # password_reset_done.html
    gettext_noop(
        "We have sent you an email. If you have not received it please check your spam folder. "
        "Otherwise contact us if you do not receive it in a few minutes."
    ),
    # password_reset_from_key.html (two spaces after "used." are allauth's)
    gettext_noop(
        "The password reset link was invalid, possibly because it has already been used.  "
        'Please request a <a href="%(passwd_reset_url)s">new password reset</a>.'
    ),
    # password_reset_from_key_done.html
    gettext_noop("Your password is now changed."),
    # signup.html, signup_closed.html
    gettext_noop("Already have an account? Then please %(link)ssign in%(end_link)s."),
    gettext_noop("We are sorry, but the sign up is currently closed."),
    # verification_sent.html
    gettext_noop("Verify Your Email Address"),
    gettext_noop(
        "We have sent an email to you for verification. Follow the link provided to finalize "
        "the signup process. If you do not see the verification email in your main inbox, check "
        "your spam folder. Please contact us if you do not receive the verification email within "
        "a few minutes."
    ),
)

# Flash messages (allauth/templates/account/messages/*.txt).
MESSAGES = (
    gettext_noop("You cannot remove your primary email address (%(email)s)."),
    gettext_noop("You have confirmed %(email)s."),
    gettext_noop("Successfully signed in as %(name)s."),
    gettext_noop("You have signed out."),
)

# E-mail subjects and bodies (allauth/templates/account/email/*.txt).
EMAILS = (
    # email_confirmation_subject.txt, email_confirmation_message.txt (also the sign-up variants)
    gettext_noop("Please Confirm Your Email Address"),
    gettext_noop(
        "You're receiving this email because user %(user_display)s has given your email address "
        "to register an account on %(site_domain)s."
    ),
    # password_reset_key_message.txt
    gettext_noop(
        "You're receiving this email because you or someone else has requested a password reset "
        "for your user account.\nIt can be safely ignored if you did not request a password "
        "reset. Click the link below to reset your password."
    ),
    # account_already_exists_message.txt: sent instead of an error when a sign-up uses a taken
    # address (ACCOUNT_PREVENT_ENUMERATION).
    gettext_noop(
        "You are receiving this email because you or someone else tried to signup for an\n"
        "account using email address:\n"
        "\n"
        "%(email)s\n"
        "\n"
        "However, an account using that email address already exists.  In case you have\n"
        "forgotten about this, please use the password forgotten procedure to recover\n"
        "your account:\n"
        "\n"
        "%(password_reset_url)s"
    ),
)
