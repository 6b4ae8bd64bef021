"""mailflip: open, end-to-end email migrations to Microsoft 365."""

__version__ = "0.1.0"
