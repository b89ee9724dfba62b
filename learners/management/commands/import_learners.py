"""``manage.py import_learners FILE``: the same as ``import_data learners FILE``."""

from learners.management.commands.import_data import Command as ImportDataCommand


class Command(ImportDataCommand):
    help = "Import learners from a CSV or XLSX file (see import_data)."
    kind = "learners"
