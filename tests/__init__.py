"""The test suite, in layers (README, "Tests and benchmarks"): unit/, engine/, integration/ and
e2e/, marked by folder (conftest.py). The helpers the layers share sit here, beside this file."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent   # the repository: run_engine.py, README.md
FIXTURES = ROOT / "tests" / "fixtures"          # databases written by earlier engines
