"""Out of the outbox: claim sends, build and transmit them, record what happened."""
