"""``manage.py import_progress FILE``: the same as ``import_data progress FILE``."""

from learners.management.commands.import_data import Command as ImportDataCommand


class Command(ImportDataCommand):
    help = "Import progress from a CSV or XLSX file (see import_data)."
    kind = "progress"
