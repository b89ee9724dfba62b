"""What the LMS side tells whoever keeps something derived from its data."""

from __future__ import annotations

from django.dispatch import Signal

# Sent with ``learner_ids`` (a list) when activity events were changed or deleted in place, in
# the transaction that did it. New events need no signal: they come with new ids.
activity_rewritten = Signal()
