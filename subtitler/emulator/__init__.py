"""The Gummy-compatible local server: protocol, voice activity, fixture scripts, faults."""
