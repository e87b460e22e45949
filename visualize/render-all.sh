#!/usr/bin/env bash
# Renders every network in networks/ to visualize/out/NAME.svg with `occamy dot --svg`,
# and exits non-zero if any of them fails to load or render. CI runs it so that every
# file in networks/ keeps rendering.
#
#   visualize/render-all.sh            # debug build of the launcher (built if needed)
#   visualize/render-all.sh --release  # release build
#   visualize/render-all.sh --collapse # replicated processes drawn as one node
#
# Needs Graphviz (`dot`): apt-get install graphviz / brew install graphviz.
#
# A file whose comments name an example binary (`--example NAME`: its kinds are not
# built in) is rendered with that example, which runs the launcher's commands. A
# sub-network file (one with `ports`, which only loads inside another network) is
# skipped: it is drawn as a cluster of the networks that include it.
#
# A file with a comment line `// render-all: ARGS` is drawn with those extra arguments
# (e.g. `--set n=16`, to draw a smaller instance of a huge network). A network that would
# still have more than MAX_DRAWN processes (default 2000) is skipped, not drawn: Graphviz
# takes hours over a million-node graph.
set -uo pipefail

cd "$(dirname "$0")/.."

profile=debug
cargo_flags=()
dot_flags=()
for arg in "$@"; do
  case "$arg" in
    --release) profile=release; cargo_flags+=(--release) ;;
    --collapse) dot_flags+=(--collapse) ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "render-all: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

if ! command -v "${OCCAMY_DOT:-dot}" >/dev/null 2>&1; then
  echo "render-all: Graphviz's \`dot\` is not installed" >&2
  echo "  help: apt-get install graphviz (Debian, Ubuntu) or brew install graphviz (macOS)" >&2
  exit 1
fi

target_dir="${CARGO_TARGET_DIR:-target}"
max_drawn="${MAX_DRAWN:-2000}"
out=visualize/out
mkdir -p "$out"

echo "render-all: building the launcher ($profile)"
cargo build -q ${cargo_flags[@]+"${cargo_flags[@]}"} --bin occamy || exit 1

failed=()
rendered=0
skipped=0
for file in networks/*.ron; do
  name="$(basename "$file" .ron)"
  bin="$target_dir/$profile/occamy"
  example="$(grep -o -- '--example [A-Za-z0-9_-]*' "$file" | head -n 1 | cut -d' ' -f2)"
  if [[ -n "$example" ]]; then
    cargo build -q ${cargo_flags[@]+"${cargo_flags[@]}"} --example "$example" || { failed+=("$file (building example $example)"); continue; }
    bin="$target_dir/$profile/examples/$example"
  fi
  hint="$(grep -m 1 -o -- '// render-all: .*' "$file" | sed 's|^// render-all: ||')"
  read -r -a render_args <<<"$hint"
  # `check` prints `ok: network `NAME`: N processes, ...`; a file that does not check
  # goes on to `dot`, which reports why.
  processes="$("$bin" check "$file" ${render_args[@]+"${render_args[@]}"} 2>/dev/null | sed -n 's/^ok: network `[^`]*`: \([0-9]*\) processes.*/\1/p')"
  if [[ -n "$processes" && "$processes" -gt "$max_drawn" ]]; then
    echo "skipped  $file ($processes processes, more than $max_drawn to draw; add a \`// render-all: --set ...\` line)"
    skipped=$((skipped + 1))
    continue
  fi
  if err="$("$bin" dot "$file" ${render_args[@]+"${render_args[@]}"} ${dot_flags[@]+"${dot_flags[@]}"} --svg "$out/$name.svg" 2>&1)"; then
    echo "ok       $file -> $out/$name.svg"
    rendered=$((rendered + 1))
  else
    # A sub-network on its own: every error says it is meant to be included.
    errors="$(grep -c 'error:' <<<"$err")"
    subnet="$(grep -c 'meant to be included as a sub-network' <<<"$err")"
    if [[ "$errors" -gt 0 && "$errors" == "$subnet" ]]; then
      echo "skipped  $file (a sub-network: drawn inside the networks that include it)"
      skipped=$((skipped + 1))
    else
      echo "FAILED   $file" >&2
      echo "$err" | sed 's/^/    /' >&2
      failed+=("$file")
    fi
  fi
done

echo "render-all: $rendered rendered, $skipped skipped, ${#failed[@]} failed"
if [[ ${#failed[@]} -gt 0 ]]; then
  printf '  failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
