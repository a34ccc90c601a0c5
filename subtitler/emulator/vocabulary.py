"""The customization API (hot-word vocabularies), as the service answers it (sans-I/O).

`POST /api/v1/services/audio/asr/customization` with `{"model": "speech-biasing", "input":
{"action": ...}}`: `create_vocabulary` (`target_model`, `prefix`, `vocabulary`) ->
`output.vocabulary_id`; `list_vocabulary` (`prefix`, `page_index`, `page_size`) ->
`output.vocabulary_list`; `query_vocabulary` / `update_vocabulary` / `delete_vocabulary` by
`vocabulary_id`. The service's limits are enforced from its documentation, independently of
the client's own checks: 10 vocabularies per account (all models), 500 entries each, weights
1-5, a term with non-ASCII characters at most 15 characters and an ASCII one at most 7
space-separated words, a prefix of lowercase letters and digits under 10 characters. The
refusals' exact codes are not published; these are the platform's style (`InvalidParameter`).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from subtitler.emulator.config import INVALID_PARAMETER

CUSTOMIZATION_PATH = "/api/v1/services/audio/asr/customization"
BIASING_MODEL = "speech-biasing"
TARGET_MODELS = frozenset(
    {
        "gummy-realtime-v1",
        "gummy-chat-v1",
        "paraformer-realtime-v2",
        "fun-asr-realtime",
        "fun-asr-realtime-2025-11-07",
    }
)
QUOTA_EXCEEDED = "VocabularyQuotaExceeded"
NOT_FOUND = "VocabularyNotFound"
_PREFIX = re.compile(r"[a-z0-9]+")

Answer = tuple[HTTPStatus, dict[str, Any]]


@dataclass
class StoredVocabulary:
    vocabulary_id: str
    target_model: str
    entries: list[dict[str, Any]]
    created: str
    modified: str


@dataclass
class VocabularyStore:
    """One account's vocabularies."""

    max_vocabularies: int = 10
    max_entries: int = 500
    vocabularies: dict[str, StoredVocabulary] = field(default_factory=dict)

    def answer(self, body: Any) -> Answer:
        """The HTTP status and JSON body for one request body."""
        request_id = secrets.token_hex(16)
        if not isinstance(body, dict) or body.get("model") != BIASING_MODEL:
            return _refused(request_id, "ModelNotFound", f"Model not found ({_model(body)})!")
        given = body.get("input")
        if not isinstance(given, dict):
            return _refused(request_id, INVALID_PARAMETER, "input is required.")
        action = given.get("action")
        handler = {
            "create_vocabulary": self._create,
            "list_vocabulary": self._list,
            "query_vocabulary": self._query,
            "update_vocabulary": self._update,
            "delete_vocabulary": self._delete,
        }.get(action if isinstance(action, str) else "")
        if handler is None:
            return _refused(request_id, INVALID_PARAMETER, f"Unknown action: {action!r}.")
        try:
            output = handler(given)
        except _Refusal as refusal:
            return _refused(request_id, refusal.code, refusal.message, refusal.status)
        return HTTPStatus.OK, {"request_id": request_id, "output": output, "usage": {"count": 1}}

    def pinned(
        self, vocabulary_id: str, target: str, model: str | None = None
    ) -> dict[str, str] | None:
        """Term → its pinned translation into `target`; None: no such vocabulary. A vocabulary
        made for another model than `model` is silently ignored, as the service ignores it."""
        stored = self.vocabularies.get(vocabulary_id)
        if stored is None:
            return None
        if model is not None and stored.target_model != model:
            return {}
        return {
            str(entry["text"]): str(entry["translation"])
            for entry in stored.entries
            if entry.get("target_lang") == target and entry.get("translation")
        }

    def _create(self, given: dict[str, Any]) -> dict[str, Any]:
        target_model = given.get("target_model")
        if target_model not in TARGET_MODELS:
            raise _Refusal(INVALID_PARAMETER, f"target_model {target_model!r} is not supported.")
        prefix = given.get("prefix")
        if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix) or len(prefix) >= 10:
            raise _Refusal(
                INVALID_PARAMETER,
                "prefix must be lowercase letters and digits, fewer than 10 characters.",
            )
        entries = _checked_entries(given.get("vocabulary"), self.max_entries)
        if len(self.vocabularies) >= self.max_vocabularies:
            raise _Refusal(
                QUOTA_EXCEEDED,
                f"The account already has {len(self.vocabularies)} vocabularies, the maximum "
                f"({self.max_vocabularies}). Delete one before creating another.",
                HTTPStatus.FORBIDDEN,
            )
        vocabulary_id = f"vocab-{prefix}-{secrets.token_hex(12)}"
        now = _now()
        self.vocabularies[vocabulary_id] = StoredVocabulary(
            vocabulary_id, target_model, entries, now, now
        )
        return {"vocabulary_id": vocabulary_id}

    def _list(self, given: dict[str, Any]) -> dict[str, Any]:
        prefix = given.get("prefix")
        page_index = given.get("page_index", 0)
        page_size = given.get("page_size", 10)
        if not isinstance(page_index, int) or page_index < 0:
            raise _Refusal(INVALID_PARAMETER, "page_index must be 0 or more.")
        if not isinstance(page_size, int) or not 1 <= page_size <= 100:
            raise _Refusal(INVALID_PARAMETER, "page_size must be 1..100.")
        chosen = [
            stored
            for stored in self.vocabularies.values()
            if not prefix or stored.vocabulary_id.startswith(f"vocab-{prefix}-")
        ]
        page = chosen[page_index * page_size : (page_index + 1) * page_size]
        return {
            "vocabulary_list": [
                {
                    "vocabulary_id": stored.vocabulary_id,
                    "gmt_create": stored.created,
                    "gmt_modified": stored.modified,
                    "status": "OK",
                }
                for stored in page
            ]
        }

    def _query(self, given: dict[str, Any]) -> dict[str, Any]:
        stored = self._find(given)
        return {
            "gmt_create": stored.created,
            "gmt_modified": stored.modified,
            "status": "OK",
            "target_model": stored.target_model,
            "vocabulary": [dict(entry) for entry in stored.entries],
        }

    def _update(self, given: dict[str, Any]) -> dict[str, Any]:
        stored = self._find(given)
        stored.entries = _checked_entries(given.get("vocabulary"), self.max_entries)
        stored.modified = _now()
        return {}

    def _delete(self, given: dict[str, Any]) -> dict[str, Any]:
        stored = self._find(given)
        del self.vocabularies[stored.vocabulary_id]
        return {}

    def _find(self, given: dict[str, Any]) -> StoredVocabulary:
        vocabulary_id = given.get("vocabulary_id")
        stored = self.vocabularies.get(vocabulary_id) if isinstance(vocabulary_id, str) else None
        if stored is None:
            raise _Refusal(
                NOT_FOUND, f"Vocabulary {vocabulary_id!r} does not exist.", HTTPStatus.NOT_FOUND
            )
        return stored


class _Refusal(Exception):
    def __init__(
        self, code: str, message: str, status: HTTPStatus = HTTPStatus.BAD_REQUEST
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _checked_entries(vocabulary: Any, max_entries: int) -> list[dict[str, Any]]:
    if not isinstance(vocabulary, list) or not vocabulary:
        raise _Refusal(INVALID_PARAMETER, "vocabulary must be a non-empty list.")
    if len(vocabulary) > max_entries:
        raise _Refusal(
            INVALID_PARAMETER, f"vocabulary has {len(vocabulary)} entries (at most {max_entries})."
        )
    for number, entry in enumerate(vocabulary, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("text"), str):
            raise _Refusal(INVALID_PARAMETER, f"vocabulary[{number}]: text is required.")
        text, weight = entry["text"], entry.get("weight")
        if not isinstance(weight, int) or isinstance(weight, bool) or not 1 <= weight <= 5:
            raise _Refusal(INVALID_PARAMETER, f"vocabulary[{number}]: weight must be 1..5.")
        too_long = len(text) > 15 if any(ord(c) > 127 for c in text) else len(text.split(" ")) > 7
        if not text.strip() or too_long:
            raise _Refusal(
                INVALID_PARAMETER,
                f"vocabulary[{number}]: text {text!r} breaks the length rule (15 characters "
                "with non-ASCII characters, 7 words otherwise).",
            )
        if ("target_lang" in entry) != ("translation" in entry):
            raise _Refusal(
                INVALID_PARAMETER,
                f"vocabulary[{number}]: target_lang and translation go together.",
            )
    return [dict(entry) for entry in vocabulary]


def _refused(
    request_id: str, code: str, message: str, status: HTTPStatus = HTTPStatus.BAD_REQUEST
) -> Answer:
    return status, {"request_id": request_id, "code": code, "message": message}


def _model(body: Any) -> Any:
    return body.get("model") if isinstance(body, dict) else None


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
