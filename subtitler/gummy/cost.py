"""What a run costs, before it runs (pure): Gummy bills recognition and translation per second
of audio. Each target is a task that translates, and one task per input recognises (the others
take its transcript: `engine/pairing.py`), so an input costs its remaining audio x (the
recognition price + its tasks x the translation price).

The prices are DashScope's list prices for `gummy-realtime-v1` (Beijing region) as the project
read them; `--prices` overrides them (an account's own discount, another currency).
"""

from __future__ import annotations

from dataclasses import dataclass

from subtitler.errors import UsageError


@dataclass(frozen=True)
class Prices:
    recognition_per_s: float = 0.00015
    translation_per_s: float = 0.00015
    currency: str = "CNY"

    @classmethod
    def parse(cls, text: str | None) -> Prices:
        """`recognition=0.00015,translation=0.00015,currency=CNY` (any of them)."""
        if not text:
            return cls()
        fields = {"recognition": cls.recognition_per_s, "translation": cls.translation_per_s}
        currency = cls.currency
        for part in text.split(","):
            name, _, value = part.partition("=")
            name, value = name.strip().lower(), value.strip()
            try:
                if name == "currency" and value:
                    currency = value.upper()
                elif name in fields and float(value) >= 0:
                    fields[name] = float(value)
                else:
                    raise ValueError(part)
            except ValueError as error:
                raise UsageError(
                    "--prices", f"{part!r}: give recognition=X,translation=Y,currency=C"
                ) from error
        return cls(fields["recognition"], fields["translation"], currency)


@dataclass(frozen=True)
class Estimate:
    """What subtitling one input would bill (what remains of it: a resume costs its rest)."""

    audio_ms: int
    tasks: int
    prices: Prices
    recognising: bool = True
    """False when the input's transcript is already journaled (another target finished it)."""

    @property
    def recognition_s(self) -> float:
        return self.audio_ms / 1000 if self.tasks and self.recognising else 0.0

    @property
    def translation_s(self) -> float:
        return self.audio_ms / 1000 * self.tasks

    @property
    def cost(self) -> float:
        return (
            self.recognition_s * self.prices.recognition_per_s
            + self.translation_s * self.prices.translation_per_s
        )


class Budget:
    """`--budget`: estimates are reserved as inputs start; one that would take the run past
    the amount is not started. Lives on the run's loop."""

    def __init__(self, amount: float) -> None:
        self.amount = amount
        self.reserved = 0.0

    def reserve(self, estimate: Estimate) -> str | None:
        """None when it fits (and is reserved), else the skip reason."""
        if self.reserved + estimate.cost > self.amount + 1e-12:
            left = max(0.0, self.amount - self.reserved)
            currency = estimate.prices.currency
            return (
                f"over budget: its estimate is {estimate.cost:.4f} {currency}, "
                f"{left:.4f} {currency} of {self.amount:g} left"
            )
        self.reserved += estimate.cost
        return None
