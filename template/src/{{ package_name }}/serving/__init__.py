"""The prediction API (FastAPI): see app.py."""
