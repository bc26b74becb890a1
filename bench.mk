# Benchmarks (issue 6): the local stack as `make run` starts it, driven through the public API
# by client processes; a table, the ratios to raw Postgres/Redis baselines measured in the same
# run, the targets met or missed, and one JSON object on the last line. See docs/performance.md.
# BENCH_ARGS picks scenarios or options, e.g. `make bench BENCH_ARGS="send unread"`.

BENCH_ARGS ?=

bench: $(INSTALLED) ## benchmarks, every scenario at full size (about 10 minutes on 2 cores)
	PYTHONPATH=tools $(PY) -m bench $(BENCH_ARGS)

bench-quick: $(INSTALLED) ## benchmarks, small and short (under 2 minutes)
	PYTHONPATH=tools $(PY) -m bench --quick $(BENCH_ARGS)
