"""The learners admin, one module per area. Importing a module registers its ModelAdmins."""

from learners.admin import data, lms

__all__ = ["data", "lms"]
