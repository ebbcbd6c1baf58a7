"""Scripts that template releases run in projects (copier `_migrations`); see migrate.py."""
