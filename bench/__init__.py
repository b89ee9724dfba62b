"""The engine benchmark: a million learners on PostgreSQL, the blueprint campaign, and the
figures the engine issue asks for (``python -m bench.engine``; see bench/engine.py)."""
