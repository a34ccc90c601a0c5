"""Line-start and line-end rules (kinsoku) for Chinese and Japanese lines.

The Netflix Japanese and Chinese guides forbid a line that opens with closing punctuation or a
small kana, or ends with an opening bracket. The classes follow the W3C's "Requirements for
Japanese Text Layout" (JLREQ: closing brackets, hyphens, dividing punctuation, middle dots, full
stops, commas, iteration marks, the prolonged sound mark, small kana) and "Requirements for
Chinese Text Layout" (CLREQ), with their ASCII and half-width counterparts.
"""

from __future__ import annotations

CLOSING_BRACKETS = "」』）】〕〗〙〟》〉］｝＞”’)]}>｣»"
HYPHENS = "‐゠–〜～"
DIVIDING_PUNCTUATION = "？！‼⁇⁈⁉?!"
MIDDLE_DOTS = "・：；:;･"
FULL_STOPS = "。．.｡"
COMMAS = "、，,､"
ITERATION_MARKS = "ヽヾゝゞ々〻"
PROLONGED_SOUND = "ーｰ"
SMALL_KANA = (
    "ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿｧｨｩｪｫｯｬｭｮ"
)
INSEPARABLE = "…‥—"
"""Runs of these (`……`, `——`) are one mark and may not be split across lines."""
OPENING_BRACKETS = "「『（【〔〖〘〝《〈［｛＜“‘([{<｢«"

NOT_AT_LINE_START = frozenset(
    CLOSING_BRACKETS
    + HYPHENS
    + DIVIDING_PUNCTUATION
    + MIDDLE_DOTS
    + FULL_STOPS
    + COMMAS
    + ITERATION_MARKS
    + PROLONGED_SOUND
    + SMALL_KANA
    + "%％‰℃°"
)
"""Characters a Chinese or Japanese line may not open with."""
NOT_AT_LINE_END = frozenset(OPENING_BRACKETS + "¥$£€＄￥￡")
"""Characters a Chinese or Japanese line may not end with."""


def may_break_between(left: str, right: str) -> bool:
    """True when a line may end after `left` and the next begin with `right` (non-empty)."""
    if not left or not right:
        return True
    if right[0] in NOT_AT_LINE_START or left[-1] in NOT_AT_LINE_END:
        return False
    return not (left[-1] in INSEPARABLE and right[0] == left[-1])


def line_violation(line: str) -> str | None:
    """What is wrong with one line under the rules ('starts with “。”'), or None."""
    text = line.strip()
    if not text:
        return None
    if text[0] in NOT_AT_LINE_START:
        return f"starts with “{text[0]}”"
    if text[-1] in NOT_AT_LINE_END:
        return f"ends with “{text[-1]}”"
    return None
