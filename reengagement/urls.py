from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("learners.urls")),
    path("", include("learners.api.lms_urls")),
    path("", include("campaigns.urls")),
]
