"""Personal data held by messaging's models. See portal.personal_data for what a declaration says.

None yet: the conversations arrive with the chat issue, and declare here their reporters (the
"reporter" subject, registered with `register_subject`) and their messages (31 days for the
counsellor chat, 2 years for clinic messages) before the retention service can purge them.
"""


def register_all() -> None:
    pass
