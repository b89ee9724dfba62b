"""The pass: decides who is due for what. It writes enrollments and sends (the outbox) and
never sends anything itself."""
