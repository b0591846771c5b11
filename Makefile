# The two commands of the README, and nothing clever.
.PHONY: install run test

install:
	ops/install.sh

run: install
	.venv/bin/gigstream up

test: install
	ops/test.sh
