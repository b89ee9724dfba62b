from django.urls import path

from campaigns.feedback import pages as views
from campaigns.feedback import twilio

app_name = "campaigns"

urlpatterns = [
    path("c/<str:token>/", views.click, name="click"),
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("m/<str:token>/", views.manager_optout, name="manager_optout"),
    path("s/<str:token>/", views.survey, name="survey"),
    path("twilio/status/", twilio.status_callback, name="twilio_status"),
    path("twilio/inbound/", twilio.inbound, name="twilio_inbound"),
    path("p/<str:token>/", views.preferences, name="preferences"),
    path("mp/<str:token>/", views.manager_preferences, name="manager_preferences"),
    path("d/<str:token>/", views.digest_optout, name="digest_optout"),
    path("t/<str:token>/", views.check_in, name="check_in"),
    path("w/<str:token>/", views.digest_page, name="digest_page"),
]
