"""Qwen-MT text translation: the pairs Gummy does not translate (shared/research/any-pair.md, A).

`protocol` builds the request bodies and reads the answers and streams with no sockets
(sans-I/O); `pacing` keeps requests under the account's requests and tokens per minute;
`client` (`QwenMt`) sends them with aiohttp on the run's event loop and retries what a retry
can fix.
"""
