"""Maintained benchmarks and the media generators they and the tests share. Run each from the repository
root as a module, `python -m bench.NAME --help`; every one has a smoke test at tiny arguments in tests/."""
