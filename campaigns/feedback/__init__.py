"""What comes back: the learner and manager pages (click, unsubscribe, survey, opt-out)."""
