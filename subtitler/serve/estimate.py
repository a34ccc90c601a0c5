"""`POST /jobs/estimate`: what a job would cost before it is submitted, as `run --estimate`
prices it (`engine/estimate.py`): audio to subtitle, seconds to be sent, cost per currency.

With the speech gate on, the seconds sent are known only by decoding the audio and running the
gate over it (`--scan`). That is done when the job's audio is short enough to decode in seconds
(`SCAN_LIMIT_MS`); beyond, the figure is an upper bound (every second) and says so."""

from __future__ import annotations

from typing import Any

from subtitler.engine.estimate import InputEstimate, estimate_inputs
from subtitler.gummy.cost import Bill
from subtitler.options import RunOptions
from subtitler.sources.inputs import InputFile, InputProblem

SCAN_LIMIT_MS = 30 * 60 * 1000
"""Audio decoded and gated for an estimate at most (ffmpeg decodes it far faster than real time)."""


async def estimate_job(
    items: list[InputFile | InputProblem], options: RunOptions
) -> dict[str, Any]:
    listed = await estimate_inputs(items, options)
    audio_ms = sum(one.estimate.audio_ms for one in listed if one.estimate is not None)
    gated = options.vad is not None
    scanned = gated and 0 < audio_ms <= SCAN_LIMIT_MS
    if scanned:
        listed = await estimate_inputs(items, options, scan=True)
    return estimate_json(listed, gated=gated, scanned=scanned)


def estimate_json(listed: list[InputEstimate], *, gated: bool, scanned: bool) -> dict[str, Any]:
    """The figures the console shows (pure)."""
    audio_ms = sent_ms = 0
    bill = Bill()
    for one in listed:
        if one.estimate is None:
            continue
        audio_ms += one.estimate.audio_ms
        sent = one.scanned if scanned and one.scanned is not None else one.estimate
        sent_ms += sent.audio_ms
        bill = bill + sent.costs
    upper_bound = gated and not scanned
    return {
        "inputs": len(listed),
        "audio_s": round(audio_ms / 1000, 3),
        "audio_hours": round(audio_ms / 3_600_000, 4),
        "sent_s": round(sent_ms / 1000, 3),
        "upper_bound": upper_bound,
        "gate": "scanned" if scanned else "not scanned" if gated else "off",
        "cost": {currency: round(amount, 6) for currency, amount in bill.amounts},
        "problems": [one.problem for one in listed if one.problem],
    }
