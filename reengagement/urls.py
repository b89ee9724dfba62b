from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("learners.urls")),
    # ESP tracking webhooks: /anymail/<esp>/tracking/ (see README, "ESP webhooks").
    path("anymail/", include("anymail.urls")),
    path("", include("learners.api.lms_urls")),
    path("", include("campaigns.urls")),
]
