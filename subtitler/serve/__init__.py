"""`subtitler serve`: the HTTP edge (`app`: Bazarr's Whisper endpoints, `/subtitles`, jobs and
webhooks), the job queue (`jobs`), the folders it may read (`fence`) and the media servers it
refreshes (`mediaservers`)."""
