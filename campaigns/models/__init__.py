"""Models of the campaigns app, one module per stage: building, outbox, feedback,
results.

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
from .feedback import SurveyResponse
from .outbox import Enrollment, PassLock, Send
from .results import CampaignResult, WinnerApplied

__all__ = [
    "Audience",
    "Campaign",
    "CampaignResult",
    "CtaTarget",
    "Enrollment",
    "Incentive",
    "PassLock",
    "Segment",
    "Send",
    "Step",
    "SurveyResponse",
    "Variant",
    "WinnerApplied",
    "default_weekdays",
]
