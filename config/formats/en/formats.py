"""One way to write dates and numbers across the app (FORMAT_MODULE_PATH in config/settings.py):
dates as 2026-12-02, times as 2026-12-02 14:05, numbers with a comma every three digits (the
`number` filter, workspace/templatetags/formatting.py). Django's locale formats would otherwise write
"Dec. 2, 2026, 2:05 p.m." wherever a template prints a date without a format."""

DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "j F"
YEAR_MONTH_FORMAT = "F Y"
FIRST_DAY_OF_WEEK = 1  # Monday
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
