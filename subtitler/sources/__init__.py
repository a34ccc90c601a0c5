"""Where audio comes from: PATHs, folders, URLs, stdin and devices made inputs (`inputs`), a
batch split into shards (`shard`), and ffmpeg (`media`): one process per input lists its streams
and decodes its audio to 16 kHz mono PCM frames; and where in that audio there is speech
(`speech`), so that the rest need not be sent."""
