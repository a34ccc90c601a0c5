"""Pure cue layout: finished sentences become cues under the subtitle rules (`rules`), with
lines broken at phrases (`phrases`, `kinsoku` for Chinese and Japanese), times on frames
(`frames`) and shot changes (`shots`). No I/O and no clock: testable with values alone."""
