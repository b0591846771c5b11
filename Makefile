# The two commands of the README, and nothing clever.
.PHONY: install run test bench

install:
	ops/install.sh

run: install
	.venv/bin/gigstream up

test: install
	ops/test.sh

bench: install
	.venv/bin/python -m bench.run
