/**
 * Environment of the benchmarks' no-op function. `BENCH_FUNCTION_NODE_OPTIONS` passes Node flags
 * to the function processes (e.g. `--prof --logfile=/tmp/fn-%p.log`) so they can be profiled
 * alongside the engine; unset, the function runs with no variables of its own.
 */
export function benchFunctionEnvironment(): Record<string, string> {
  const options = process.env.BENCH_FUNCTION_NODE_OPTIONS;
  return options ? { NODE_OPTIONS: options } : {};
}
