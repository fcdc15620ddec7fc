import os
import sys
from typing import Iterator

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(os.path.dirname(HERE), "examples")
sys.path.insert(0, EXAMPLES)  # scripted_model

import sessionstore  # noqa: E402

# The package under test is the installed one, never the source tree next to this directory.
assert not os.path.dirname(sessionstore.__file__).startswith(os.path.dirname(HERE)) or os.environ.get(
    "SESSIONSTORE_TEST_SOURCE"
), f"tests must import the installed package, got {sessionstore.__file__}"


@pytest.fixture
def store() -> Iterator[sessionstore.Store]:
    s = sessionstore.Store()
    yield s
    s.close()
