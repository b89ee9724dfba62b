"""``manage.py import_activity FILE``: the same as ``import_data activity FILE``."""

from learners.management.commands.import_data import Command as ImportDataCommand


class Command(ImportDataCommand):
    help = "Import activity from a CSV or XLSX file (see import_data)."
    kind = "activity"
