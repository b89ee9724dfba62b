"""The admin's import: upload, dry-run preview with row errors, confirm, message."""

from __future__ import annotations

from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from learners.models import Learner
from tests.learners.conftest import csv_text

FILE = csv_text(
    "external_id,email,first_name,manager_email,manager_name",
    "L1,ana@example.com,Ana,boss@example.com,Bea Boss",
    "L2,not-an-email,Bo,,",
    "L3,cy@example.com,Cy,boss@example.com,Bea Boss",
    "L4,dee@example.com,Dee,,",
    "L4,dee2@example.com,Dee again,,",
)


def upload(client: Client, content: str, name: str = "learners.csv"):
    return client.post(
        reverse("admin:learners_learner_import"),
        {
            "resource": "0",
            "format": "0",  # CSV
            "import_file": SimpleUploadedFile(name, content.encode(), content_type="text/csv"),
        },
    )


def test_dry_run_shows_the_bad_rows_and_still_offers_to_import_the_good_ones(client, importer):
    client.force_login(importer)

    preview = upload(client, FILE)

    assert preview.status_code == 200
    page = preview.content.decode()
    assert "Some rows failed to validate" in page
    assert "Enter a valid email address." in page
    assert "LMS id L4 is also on row 5 of this file." in page
    assert (
        "3 rows will be imported: 3 new, 0 updated, 0 unchanged. 2 rows with errors will be "
        "left out (row 3, 6; rows are numbered as in a spreadsheet, the header is row 1)."
    ) in page
    assert 'name="confirm"' in page
    assert not Learner.objects.exists()  # a dry run

    confirm = preview.context["confirm_form"]
    done = client.post(
        reverse("admin:learners_learner_process_import"),
        {name: confirm.initial[name] for name in confirm.fields if name in confirm.initial},
        follow=True,
    )

    assert set(Learner.objects.values_list("external_id", flat=True)) == {"L1", "L3", "L4"}
    assert Learner.objects.filter(external_id="L3", manager__name="Bea Boss").exists()
    assert [str(m) for m in get_messages(done.wsgi_request)] == [
        "Import finished: 3 new, 0 updated, 0 unchanged learners. "
        "2 rows with errors not imported: row 3, 6."
    ]


def test_a_file_with_only_bad_rows_cannot_be_confirmed(client, importer):
    client.force_login(importer)

    preview = upload(client, csv_text("external_id,email", "L1,nope", "L2,"))

    page = preview.content.decode()
    assert "Enter a valid email address." in page
    assert "This field cannot be blank." in page
    assert 'name="confirm"' not in page


def test_a_clean_file_previews_every_row(client, importer):
    client.force_login(importer)

    preview = upload(client, csv_text("external_id,email", "L1,ana@example.com"))

    page = preview.content.decode()
    assert "1 row will be imported: 1 new, 0 updated, 0 unchanged." in page
    assert "Preview" in page
    assert 'name="confirm"' in page


def test_staff_without_import_permission_cannot_import(client, django_user_model):
    viewer = django_user_model.objects.create_user("vera", password="pw", is_staff=True)
    client.force_login(viewer)

    assert upload(client, FILE).status_code == 403
