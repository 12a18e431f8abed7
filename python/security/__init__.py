"""The spec's import path: ``from security.logging import ...`` (see ``seclog``)."""
