#!/usr/bin/env bash
# Cross-rank benchmarks (feature `mpi`), two ranks on this machine (--oversubscribe: the
# ranks' engine threads and workers share its cores):
# 1. examples/mpi_bench.rs: ping-pong through occamy links (async processes on the green
#    scheduler, idle workers driving the engine or the engine thread alone; thread
#    processes, driving it themselves while blocked on a link or the engine thread alone)
#    against raw MPI Ssend ping-pong in the same run (and raw eager Send, one MPI message a
#    hop as occamy's protocol, to show MPI's own share; and the floor, a task making its own
#    MPI calls with no channel), a barrier with a party on each rank
#    against raw MPI_Barrier, and commstime with succ on a second rank against all on one. Sizes: OCCAMY_BENCH_ROUNDS, OCCAMY_BENCH_PINGPONG_N,
#    OCCAMY_BENCH_N. Then the ping-pong alone again over TCP (`--mca btl tcp,self`, on
#    loopback): shared memory is the transport of ranks on one host, TCP (or a faster
#    interconnect) the one between hosts, and what each costs a hop changes the ratio.
# 2. The Mandelbrot farm (networks/mandelbrot.ron, placed round-robin) on 1 rank and on 2,
#    the same image, taking turns: wall-clock seconds of the whole mpirun (MPI start-up
#    included), median of OCCAMY_BENCH_MANDEL_ROUNDS (3), the speedup, and a byte-for-byte
#    check of the two images. Size: OCCAMY_BENCH_MANDEL (WIDTHxHEIGHTxITERS, default
#    1600x1200x1024), workers=4.
# Usage: benches/mpi.sh [extra mpirun args]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --features mpi --example mpi_bench --example mandelbrot
root=()
[[ $(id -u) == 0 ]] && root=(--allow-run-as-root)
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
mpirun "${root[@]}" --oversubscribe -n 2 "$@" target/release/examples/mpi_bench
# Between nodes a link's reader sends its `Ack` with the reply, not at once (it does at
# once to a rank of its own node, `OCCAMY_MPI_EARLY_ACK`): these two ranks share a node,
# so the TCP run, standing in for two nodes, says so.
echo "over TCP (--mca btl tcp,self, loopback; as between nodes: OCCAMY_MPI_EARLY_ACK=never):"
OCCAMY_MPI_EARLY_ACK=never OCCAMY_BENCH_ONLY=raw,raw_send,floor,green,threads mpirun "${root[@]}" --oversubscribe --mca btl tcp,self -n 2 "$@" \
    target/release/examples/mpi_bench

IFS=x read -r width height iters <<<"${OCCAMY_BENCH_MANDEL:-1600x1200x1024}"
rounds=${OCCAMY_BENCH_MANDEL_ROUNDS:-3}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mandel() { # ranks out.png -> seconds
    local t0 t1
    t0=$(date +%s.%N)
    mpirun "${root[@]}" --oversubscribe -n "$1" "${@:3}" target/release/examples/mandelbrot \
        run networks/mandelbrot.ron --set workers=4 --set width="$width" \
        --set height="$height" --set iters="$iters" --set out="$2" >/dev/null 2>&1
    t1=$(date +%s.%N)
    printf "%.2f" "$(echo "$t1 - $t0" | bc -l)"
}
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
one=() two=()
for ((r = 0; r < rounds; r++)); do
    one+=("$(mandel 1 "$dir/one.png" "$@")")
    two+=("$(mandel 2 "$dir/two.png" "$@")")
done
m1=$(printf '%s\n' "${one[@]}" | median)
m2=$(printf '%s\n' "${two[@]}" | median)
same=differ
cmp -s "$dir/one.png" "$dir/two.png" && same="the same byte for byte"
echo "mandelbrot farm ${width}x${height}, $iters iterations, 4 workers (s, mpirun wall clock, median of $rounds):"
printf '  1 rank     %6.2f   (runs: %s)\n' "$m1" "${one[*]}"
printf '  2 ranks    %6.2f   (runs: %s)\n' "$m2" "${two[*]}"
printf '  speedup    %6.2f   images: %s\n' "$(echo "$m1 / $m2" | bc -l)" "$same"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
