"""Where the template is: the repository's working tree and its copier.yml."""

from __future__ import annotations

from pathlib import Path

TEMPLATE_ROOT = Path(__file__).resolve().parent.parent
"""The template repository's working tree (holds copier.yml)."""

COPIER_YML = TEMPLATE_ROOT / "copier.yml"
