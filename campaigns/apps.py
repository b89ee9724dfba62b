from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"

    def ready(self) -> None:
        # Connect the receivers: anymail's tracking signal stores events (feedback), stored
        # events are handed to the apply task (tasks, the only module that imports Celery), and
        # an activity event changed or deleted has its learner's outcomes recorded again.
        from campaigns import tasks  # noqa: F401
        from campaigns.engine import outcomes  # noqa: F401
        from campaigns.feedback import esp_events  # noqa: F401
