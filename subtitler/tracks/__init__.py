"""Tracks that are valid files at every moment, one module per format: SRT (pysrt), VTT
(webvtt-py), ASS (pysubs2), TTML (IMSC 1.1 Text Profile), EBU-TT-D (EBU Tech 3380) and SCC
(CEA-608 through ttconv's code tables). All are rendered from the same cues, patched by what
changed, and restored from the resume journal (`base.Track`). A format's module is imported
when a track of it is planned (pysubs2 and ttconv's tables cost a run that writes SRT and VTT
only about 50 ms of CPU and some MB to load)."""

from subtitler.options import Layout, TrackFormat
from subtitler.tracks.base import SOURCE, TARGET, UNDETERMINED, Picture, Track
from subtitler.tracks.srt import SrtTrack
from subtitler.tracks.vtt import VttTrack

__all__ = [
    "SOURCE",
    "TARGET",
    "UNDETERMINED",
    "Layout",
    "Picture",
    "SrtTrack",
    "Track",
    "TrackFormat",
    "VttTrack",
]
