"""Models of the campaigns app, one module per stage: building, outbox, feedback, events,
results, awards, and access (API tokens).

Everything is re-exported here, so ``campaigns.models.Send`` and the migrations' references
(``campaigns.models.default_weekdays``) keep working.
"""

from .access import ApiToken
from .awards import Award, AwardPush, DiscountCode
from .building import (
    Audience,
    Campaign,
    Channel,
    CtaTarget,
    Incentive,
    Segment,
    Step,
    Variant,
    default_weekdays,
)
from .digests import DigestCheckIn, DigestSettings, ManagerDigest
from .events import BounceClass, Click, DeliverabilityAlert, EspEvent, SuppressedAddress
from .feedback import SurveyReason, SurveyResponse
from .outbox import Enrollment, PassLock, Send
from .results import CampaignResult, WinnerApplied

__all__ = [
    "ApiToken",
    "Audience",
    "Award",
    "AwardPush",
    "BounceClass",
    "Campaign",
    "CampaignResult",
    "Channel",
    "Click",
    "CtaTarget",
    "DeliverabilityAlert",
    "DigestCheckIn",
    "DigestSettings",
    "DiscountCode",
    "Enrollment",
    "EspEvent",
    "Incentive",
    "ManagerDigest",
    "PassLock",
    "Segment",
    "Send",
    "Step",
    "SuppressedAddress",
    "SurveyReason",
    "SurveyResponse",
    "Variant",
    "WinnerApplied",
    "default_weekdays",
]
