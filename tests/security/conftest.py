"""The web tests' store (two partners' orders and their accounts) for the security tests."""

from tests.web.conftest import web_store  # noqa: F401 - a fixture, used by name
