"""Settings for the test suite: the product's own, with DEBUG on as for local work.

The product's default is DEBUG off, which refuses to start without production settings; tests
run like `make run` does. Processes a test starts (a Celery worker) inherit the variable.
"""

import os

os.environ.setdefault("DEBUG", "true")

from reengagement.settings import *  # noqa: F403
