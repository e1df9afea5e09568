"""The portal's date and time formats (FORMAT_MODULE_PATH), looked up before Django's own.

One rule for every page, table, chart label and export: Dutch dd-mm-yyyy, English as in the
United Kingdom dd/mm/yyyy, and a 24-hour clock in both. Anything not set here comes from
Django's format module for the language.
"""
