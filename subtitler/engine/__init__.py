"""The run: one event loop drives every input, task, cue layout and track write."""
