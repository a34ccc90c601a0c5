"""subtitler: live bilingual subtitles from video and audio through DashScope Gummy."""

__version__ = "0.1.0"
