"""What serve's jobs cost: each input priced once when it ends (from what the engine counted:
seconds sent by its tasks, seconds the speech gate saved, Qwen-MT tokens), and running totals per
job, per day and overall, kept as inputs end so a total costs the same however many jobs came
before. Pure: values in, values out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from subtitler.engine.estimate import RunPricing
from subtitler.events import InputResult
from subtitler.gummy.cost import GUMMY, Bill, cost_of_usage


@dataclass(frozen=True, kw_only=True)
class Usage:
    """What some inputs used and cost; amounts per currency, never converted."""

    sent_ms: int = 0
    saved_ms: int = 0
    """Audio the speech gate kept from the service (non-speech): not billed."""
    input_tokens: int = 0
    output_tokens: int = 0
    cost: Bill = field(default_factory=Bill)

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            sent_ms=self.sent_ms + other.sent_ms,
            saved_ms=self.saved_ms + other.saved_ms,
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cost=self.cost + other.cost,
        )

    def as_record(self) -> dict[str, Any]:
        """Exact, for the queue's journal (`as_json` rounds for people)."""
        return {"sent_ms": self.sent_ms, "saved_ms": self.saved_ms,
                "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                "cost": dict(self.cost.amounts)}  # fmt: skip

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Usage:
        return cls(sent_ms=int(record.get("sent_ms", 0)), saved_ms=int(record.get("saved_ms", 0)),
                   input_tokens=int(record.get("input_tokens", 0)),
                   output_tokens=int(record.get("output_tokens", 0)),
                   cost=bill_of(record.get("cost") or {}))  # fmt: skip

    def as_json(self) -> dict[str, Any]:
        return {
            "sent_s": round(self.sent_ms / 1000, 3),
            "saved_s": round(self.saved_ms / 1000, 3),
            "tokens": {"input": self.input_tokens, "output": self.output_tokens},
            "cost": {currency: round(amount, 6) for currency, amount in self.cost.amounts},
        }


def usage_of(result: InputResult, pricing: RunPricing) -> Usage:
    """One input's usage, priced as the services bill it: recognition once for the audio its
    tasks heard, Gummy's translation per Gummy task, Qwen-MT per token counted. `sent_ms` is the
    audio sent (once, however many tasks heard it: what `POST /jobs/estimate` says it would
    send); without the speech gate, the audio read (`audio_ms`)."""
    tasks = result.tasks
    if not tasks:
        heard_ms = 0
    elif result.sent_ms is not None:  # every task's seconds: each heard the same audio
        heard_ms = result.sent_ms // len(tasks)
    else:
        heard_ms = result.audio_ms
    gummy_tasks = sum(1 for task in tasks if _translator(pricing, task.target) == GUMMY)
    usage = result.translation
    tokens = (usage.input_tokens, usage.output_tokens) if usage is not None else (0, 0)
    bill = cost_of_usage(
        recognition_s=heard_ms / 1000,
        recognizer=pricing.recognizer,
        region=pricing.region,
        gummy_translation_s=heard_ms / 1000 * gummy_tasks,
        mt_tokens={pricing.mt_model: tokens} if any(tokens) else {},
        prices=pricing.prices,
    )
    return Usage(sent_ms=heard_ms, saved_ms=result.skipped_ms or 0, input_tokens=tokens[0],
                 output_tokens=tokens[1], cost=bill)  # fmt: skip


def _translator(pricing: RunPricing, target: str) -> str:
    kind = pricing.translators.get(target)
    if kind is None:
        return ""  # the recognition-only task (no target of the run)
    return str(getattr(kind, "value", kind))


def bill_of(amounts: Mapping[str, float]) -> Bill:
    bill = Bill()
    for currency, amount in amounts.items():
        bill = bill.plus(float(amount), str(currency))
    return bill


@dataclass
class CostLedger:
    """Running totals, added to as inputs end (and once per kept input on start)."""

    by_job: dict[str, Usage] = field(default_factory=dict)
    by_day: dict[str, Usage] = field(default_factory=dict)
    total: Usage = field(default_factory=Usage)

    def add(self, job_id: str, day: str, usage: Usage) -> None:
        self.by_job[job_id] = self.by_job.get(job_id, Usage()) + usage
        self.carry(day, usage)

    def carry(self, day: str, usage: Usage) -> None:
        """What jobs no longer kept cost (their day and the total count it; no job does)."""
        self.by_day[day] = self.by_day.get(day, Usage()) + usage
        self.total = self.total + usage

    def totals_json(self) -> dict[str, Any]:
        """The total and the days (what changes when an input ends; the job's own is its JSON)."""
        return {
            "total": self.total.as_json(),
            "days": {day: usage.as_json() for day, usage in sorted(self.by_day.items())},
        }

    def as_json(self) -> dict[str, Any]:
        jobs = {job_id: usage.as_json() for job_id, usage in self.by_job.items()}
        return {**self.totals_json(), "jobs": jobs}
