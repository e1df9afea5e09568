# Patient records are not in the admin site: the operator runs the platform and has no business
# reading health data; clinics manage their records in the portal, where access is logged.
