"""Gummy realtime translation tasks: the protocol (sans-I/O), the native client, the SDK client.

Both clients take PCM frames and give the same typed events (`protocol.TaskStarted`,
`Partial`, `Sentence`, `TaskFinished`, `TaskFailed`), with times in ms of the task's audio.
`sdk` imports the dashscope SDK; nothing else here does, so it is imported only when chosen.
"""
