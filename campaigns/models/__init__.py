"""Models of the campaigns app, one module per stage: building, outbox, feedback,
and access (API tokens).

Everything is re-exported here, so ``campaigns.models.Send`` and the migrations' references
(``campaigns.models.default_weekdays``) keep working.
"""

from .access import ApiToken
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

__all__ = [
    "ApiToken",
    "Audience",
    "Campaign",
    "CtaTarget",
    "Enrollment",
    "Incentive",
    "PassLock",
    "Segment",
    "Send",
    "Step",
    "SurveyResponse",
    "Variant",
    "default_weekdays",
]
