from tests.server.conftest import served_demo, server, http  # noqa: F401
