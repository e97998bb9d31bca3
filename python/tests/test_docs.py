"""The examples in the package's docstrings run."""

import doctest

import jwks_auth
import jwks_auth.metrics
import jwks_auth.testing


def test_docstring_examples_run():
    for module in (jwks_auth, jwks_auth.metrics, jwks_auth.testing):
        result = doctest.testmod(module, raise_on_error=False)
        assert result.attempted > 0, module.__name__
        assert result.failed == 0, module.__name__
