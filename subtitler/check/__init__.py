"""`subtitler check`: subtitle files (ours or anyone's) judged against the cue rules."""
