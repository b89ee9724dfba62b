"""What staff build and how it is put into service: forms, launch checks and services,
selectors for the admin, and the default blueprint."""
