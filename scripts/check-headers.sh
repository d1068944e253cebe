#!/usr/bin/env bash
# Compiles every header under src/ on its own (-fsyntax-only), so that each one includes what
# it uses. Usage: check-headers.sh SOURCE_DIR [CXX]
set -uo pipefail
root=$(cd "${1:-$(dirname "$0")/..}" && pwd)
cxx=${2:-c++}
flags=(-std=c++20 -fsyntax-only -Wall -Wextra -Werror -I"$root/src"
       -DSPDLOG_COMPILED_LIB -DSPDLOG_FMT_EXTERNAL -DSPDLOG_SHARED_LIB -DFMT_SHARED)
status=0
count=0
while IFS= read -r -d '' header; do
  if ! echo "#include \"${header#"$root/src/"}\"" | "$cxx" "${flags[@]}" -x c++ - 2>/tmp/check-headers.$$; then
    echo "not self-contained: ${header#"$root/"}"
    head -n 5 /tmp/check-headers.$$
    status=1
  fi
  count=$((count + 1))
done < <(find "$root/src" -name '*.h' -print0)
rm -f /tmp/check-headers.$$
[[ $status -eq 0 ]] && echo "$count headers compile on their own"
exit $status
