"""Importing courses."""

from __future__ import annotations

from tests.learners.conftest import csv_text
from tests.learners.imports.conftest import run


def test_courses_accept_type_labels_in_any_case(db):
    summary = run(
        "courses",
        csv_text(
            "external_id,title,course_type,url",
            "C1,GDPR basics,Compliance,https://lms.example.com/c/1",
            "C2,Negotiation,elective,",
            "C3,Mystery,astrology,",
            "C4,,other,",
        ),
    )

    assert summary.created == 2
    assert [e.row for e in summary.errors] == [4, 5]
    assert "course_type: Value 'astrology' is not a valid choice." in str(summary.errors[0])
    assert "title: This field cannot be blank." in str(summary.errors[1])
