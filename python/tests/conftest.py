# The fixtures users get: `mock_provider` (a Better Auth mock on loopback) and `verifier`.
pytest_plugins = ["jwks_auth.pytest_plugin"]
