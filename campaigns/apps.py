from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"

    def ready(self) -> None:
        # Connects the receiver of anymail's tracking signal.
        from campaigns.feedback import esp_events  # noqa: F401
