"""``bench/`` is run explicitly (``python -m pytest bench --benchmark-only``); the
project's pytest settings name ``tests`` as the default test path."""
