"""What the pass and its stages report, in counts."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PassResult:
    """What one pass did, in counts."""

    enrolled: int = 0
    holdout: int = 0
    reactivated: int = 0
    sends_created: int = 0
    skipped: int = 0
    postponed: int = 0
    queued: int = 0
    sunset: int = 0
    # Incentives awarded to learners who came back, and discount codes given to awards.
    awarded: int = 0
    codes_given: int = 0
    digests_created: int = 0
    # Enrollments whose outcome was recorded after the pass (campaigns.engine.outcomes).
    outcomes_recorded: int = 0
    skipped_locked: bool = False
    # Campaigns whose part of the pass failed and was rolled back (see PassLock.last_errors).
    failed_campaigns: int = 0


@dataclass(frozen=True)
class EnrollResult:
    enrolled: int
    holdout: int
    # The first step's sends, when it is due at once.
    sends: SendBatch = field(default_factory=lambda: SendBatch())


@dataclass(frozen=True)
class ExitResult:
    """Enrollments ended, and the milestone or hand-off sends created for them."""

    ended: int
    sends_created: int = 0
    skipped: int = 0
    awarded: int = 0


@dataclass
class ReleaseResult:
    queued: int = 0
    postponed: int = 0
    skipped: int = 0
    # Sends to hand to delivery now (only when asked to hand over).
    send_ids: list[int] = field(default_factory=list)


@dataclass
class SendBatch:
    """Sends one or more ``INSERT … SELECT`` created."""

    created: int = 0
    skipped: int = 0
    postponed: int = 0
    queued_ids: list[int] = field(default_factory=list)

    def add(self, other: SendBatch) -> None:
        self.created += other.created
        self.skipped += other.skipped
        self.postponed += other.postponed
        self.queued_ids += other.queued_ids
