# Django's Dutch formats write short dates without leading zeros (1-3-2026): clinics write them
# with (01-03-2026), as the EHR does.
SHORT_DATE_FORMAT = "d-m-Y"
SHORT_DATETIME_FORMAT = "d-m-Y H:i"
