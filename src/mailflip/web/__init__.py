"""The partner portal, the support console and their JSON API (FastAPI, Jinja2)."""
