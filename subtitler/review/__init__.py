"""`subtitler review`: the review editor's back end (the document, its edits, the HTTP API)."""
