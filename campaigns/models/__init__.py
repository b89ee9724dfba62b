"""Models of the campaigns app, one module per stage: building, outbox, feedback, events.

Everything is re-exported here, so ``campaigns.models.Send`` and the migrations' references
(``campaigns.models.default_weekdays``) keep working.
"""

from .building import (
    Audience,
    Campaign,
    CtaTarget,
    Incentive,
    Segment,
    Step,
    Variant,
    default_weekdays,
)
from .events import BounceClass, Click, DeliverabilityAlert, EspEvent, SuppressedAddress
from .feedback import SurveyResponse
from .outbox import Enrollment, PassLock, Send

__all__ = [
    "Audience",
    "BounceClass",
    "Campaign",
    "Click",
    "CtaTarget",
    "DeliverabilityAlert",
    "Enrollment",
    "EspEvent",
    "Incentive",
    "PassLock",
    "Segment",
    "Send",
    "Step",
    "SuppressedAddress",
    "SurveyResponse",
    "Variant",
    "default_weekdays",
]
