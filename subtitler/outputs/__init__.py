"""Live outputs: captions delivered where viewers are (YouTube Live, OBS, a text file), as
observers of the run's events. Each delivers on the run's loop from a queue of its own: a
receiver that is slow, failing or gone never delays a cue in the tracks."""
