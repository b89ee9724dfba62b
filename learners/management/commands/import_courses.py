"""``manage.py import_courses FILE``: the same as ``import_data courses FILE``."""

from learners.management.commands.import_data import Command as ImportDataCommand


class Command(ImportDataCommand):
    help = "Import courses from a CSV or XLSX file (see import_data)."
    kind = "courses"
