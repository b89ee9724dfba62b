"""The bounce classifier over real bounce texts from the big mailbox providers: whose problem it
is decides what happens, not the ESP's hard/soft label."""

from __future__ import annotations

import pytest

from campaigns.feedback.bounces import classify_bounce, esp_opinion
from campaigns.models import BounceClass

R, S, X = BounceClass.RECIPIENT, BounceClass.SOFT, BounceClass.SENDER

# (provider, response text as the receiving server wrote it, ESP label, expected, code)
CASES = [
    # Gmail
    (
        "gmail",
        "550-5.1.1 The email account that you tried to reach does not exist. Please try\n"
        "550-5.1.1 double-checking the recipient's email address for typos or\n"
        "550 5.1.1 unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser",
        "",
        R,
        "5.1.1",
    ),
    (
        "gmail",
        "550 5.2.1 The email account that you tried to reach is disabled.",
        "soft",
        R,
        "5.2.1",
    ),
    (
        "gmail",
        "452-4.2.2 The email account that you tried to reach is over quota. Please direct\n"
        "452 4.2.2 the recipient to https://support.google.com/mail/?p=OverQuotaTemp",
        "hard",
        S,
        "4.2.2",
    ),
    (
        "gmail",
        "550-5.7.26 This mail has been blocked because the sender is unauthenticated. Gmail "
        "requires all senders to authenticate with either SPF or DKIM. Authentication "
        "results: DKIM = did not pass SPF [example.com] with ip: [192.0.2.1] = did not pass",
        "hard",
        X,
        "5.7.26",
    ),
    (
        "gmail",
        "421-4.7.28 [192.0.2.1] Our system has detected an unusual rate of unsolicited mail "
        "originating from your IP address. To protect our users from spam, mail sent from "
        "your IP address has been temporarily rate limited.",
        "soft",
        X,
        "4.7.28",
    ),
    (
        "gmail",
        "550-5.7.1 [192.0.2.1] Our system has detected that this message is likely "
        "unsolicited mail. To reduce the amount of spam sent to Gmail, this message has "
        "been blocked.",
        "hard",
        X,
        "5.7.1",
    ),
    (
        "gmail",
        "550 5.7.25 [192.0.2.1] The IP address sending this message does not have a PTR "
        "record setup.",
        "hard",
        X,
        "5.7.25",
    ),
    # Microsoft (Outlook.com, Exchange Online)
    (
        "microsoft",
        "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). "
        "[AM1EUR02FT012.eop-EUR02.prod.protection.outlook.com]",
        "",
        R,
        "5.5.0",
    ),
    (
        "microsoft",
        "550 5.4.1 Recipient address rejected: Access denied. AS(201806281) "
        "[DB5EUR03FT012.eop-EUR03.prod.protection.outlook.com]",
        "",
        R,
        "5.4.1",
    ),
    (
        "microsoft",
        "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
        "soft",
        R,
        "5.1.10",
    ),
    (
        "microsoft",
        "554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException."
        "MapiExceptionShutoffQuotaExceeded",
        "hard",
        S,
        "5.2.2",
    ),
    (
        "microsoft",
        "550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please contact your "
        "Internet service provider since part of their network is on our block list (S3150).",
        "hard",
        X,
        "5.7.1",
    ),
    (
        "microsoft",
        "550 5.7.515 Access denied, sending domain example.com doesn't meet the required "
        "authentication level.",
        "hard",
        X,
        "5.7.515",
    ),
    (
        "microsoft",
        "451 4.7.500 Server busy. Please try again later from [192.0.2.1]. (S77719)",
        "soft",
        X,
        "4.7.500",
    ),
    (
        "microsoft",
        "550 5.7.509 Access denied, sending domain example.com does not pass DMARC "
        "verification and has a DMARC policy of reject.",
        "hard",
        X,
        "5.7.509",
    ),
    # Yahoo / AOL
    (
        "yahoo",
        "554 delivery error: dd This user doesn't have a yahoo.com account "
        "(someone@yahoo.com) [0] - mta1234.mail.ne1.yahoo.com",
        "",
        R,
        "554",
    ),
    (
        "yahoo",
        "552 1 Requested mail action aborted, mailbox not found",
        "",
        R,
        "552",
    ),
    (
        "yahoo",
        "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected "
        "volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
        "soft",
        X,
        "4.7.0",
    ),
    (
        "yahoo",
        "553 5.7.1 [BL21] Connections will not be accepted from 192.0.2.1, because the ip is "
        "in Spamhaus's list; see https://postmaster.yahooinc.com/error-codes",
        "hard",
        X,
        "5.7.1",
    ),
    (
        "yahoo",
        "554 5.7.9 Message not accepted for policy reasons. See "
        "https://postmaster.yahooinc.com/error-codes",
        "hard",
        X,
        "5.7.9",
    ),
    # Others
    (
        "icloud",
        "550 5.1.1 <someone@icloud.com>: user does not exist",
        "",
        R,
        "5.1.1",
    ),
    (
        "gmx",
        "550 Requested action not taken: mailbox unavailable / invalid DNS MX or A/AAAA "
        "resource record",
        "",
        R,
        "550",
    ),
    (
        "postfix",
        "Host or domain name not found. Name service error for name=exampel.com type=A: "
        "Host not found",
        "",
        R,
        "",
    ),
    ("exim", "452 4.3.1 Insufficient system storage", "hard", S, "4.3.1"),
    ("any", "421 Service not available, closing transmission channel", "hard", S, "421"),
    # Nothing to go on but the ESP's own label.
    ("resend", "The recipient's email provider sent a hard bounce message.", "hard", R, ""),
    ("any", "", "soft", S, ""),
    ("any", "", "", S, ""),
    # An IP address is not a status code.
    ("any", "delivery to 10.5.1.1 timed out, will try again later", "", S, ""),
]


@pytest.mark.parametrize(("provider", "text", "label", "expected", "code"), CASES)
def test_bounces_are_classified_by_code_and_words(
    provider: str, text: str, label: str, expected: str, code: str
) -> None:
    verdict = classify_bounce(text=text, esp_label=label)
    assert (verdict.kind, verdict.code) == (expected, code), provider


def test_the_esp_label_never_overrides_a_code_that_says_sender() -> None:
    # SES reports a DMARC rejection as a "Permanent" bounce.
    raw = {
        "bounce": {
            "bounceType": "Permanent",
            "bouncedRecipients": [{"emailAddress": "a@example.com", "status": "5.7.1"}],
        }
    }
    extra, label = esp_opinion(esp="Amazon SES", raw=raw, recipient="a@example.com")
    assert (extra, label) == ("5.7.1", "hard")
    assert classify_bounce(text=f"{extra} smtp; 550 rejected", esp_label=label).kind == X


@pytest.mark.parametrize(
    ("esp", "raw", "label"),
    [
        ("Postmark", {"Type": "HardBounce"}, "hard"),
        ("Postmark", {"Type": "SoftBounce"}, "soft"),
        ("Mailgun", {"event-data": {"severity": "temporary"}}, "soft"),
        ("SendGrid", {"type": "blocked"}, "soft"),
        ("Brevo", {"event": "soft_bounce"}, "soft"),
        ("SparkPost", {"msys": {"message_event": {"bounce_class": "51"}}}, "sender"),
        ("Mailjet", {"hard_bounce": False, "error_related_to": "spam"}, "sender"),
        ("Resend", {"data": {"bounce": {"type": "Transient"}}}, "soft"),
    ],
)
def test_each_esps_own_label_is_read(esp: str, raw: dict[str, object], label: str) -> None:
    assert esp_opinion(esp=esp, raw=raw, recipient="a@example.com")[1] == label
