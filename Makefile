# Thin entry points; the logic lives in scripts/*.sh.
.PHONY: build run test

build:
	dotnet build RnnLmService.sln -c Release

run:
	scripts/run.sh

test:
	scripts/test.sh
