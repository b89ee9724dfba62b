"""Every table that relates to a learner or a manager is covered by export and erase, and
every text column of it is declared personal or kept: a newly merged table fails here."""

from __future__ import annotations

from campaigns.data_rights.policy import POLICY, relating_models, text_columns


def test_every_model_relating_to_a_learner_or_manager_is_in_the_policy():
    relating = {model._meta.label for model in relating_models()}
    assert relating - set(POLICY) == set(), "add these tables to campaigns/data_rights/policy.py"
    assert set(POLICY) - relating == set(), "the policy names tables that no longer relate"


def test_every_text_column_of_an_anonymised_table_is_declared_personal_or_kept():
    missing = {}
    for model in relating_models():
        personal = POLICY[model._meta.label]
        if personal.erase == "delete":
            continue
        declared = {*personal.personal, *personal.kept}
        undeclared = set(text_columns(model)) - declared
        if undeclared:
            missing[model._meta.label] = sorted(undeclared)
    assert missing == {}, "declare these columns personal or kept in the policy"


def test_the_walk_follows_relations_through_rows_that_have_one():
    labels = {model._meta.label for model in relating_models()}
    # A click relates to a learner only through its send; an alert through an ESP event.
    assert {"campaigns.Click", "campaigns.DeliverabilityAlert"} <= labels
    assert "campaigns.Campaign" not in labels
