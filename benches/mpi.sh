#!/usr/bin/env bash
# Cross-rank benchmarks (feature `mpi`): ping-pong through occamy links against raw MPI
# Ssend ping-pong in the same run, and commstime with succ on a second rank against all on
# one. Two ranks on this machine (--oversubscribe: the ranks' engine threads and workers
# share its cores). Sizes: OCCAMY_BENCH_ROUNDS, OCCAMY_BENCH_PINGPONG_N, OCCAMY_BENCH_N.
# Usage: benches/mpi.sh [extra mpirun args]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --features mpi --example mpi_bench
root=()
[[ $(id -u) == 0 ]] && root=(--allow-run-as-root)
exec mpirun "${root[@]}" --oversubscribe -n 2 "$@" target/release/examples/mpi_bench
