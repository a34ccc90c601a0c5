"""Views: observers that draw or print pipeline events; never in the data path."""
