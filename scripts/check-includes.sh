#!/usr/bin/env bash
# Checks that #include "..." lines follow the dependency arrows of docs/architecture.md:
# each src/ folder may include only itself and the folders listed for it below, a folder's
# internal/ headers stay inside the folder, and the data-plane core never includes asio or
# OpenSSL. Exit 1 with one line per violation.
set -euo pipefail
root=${1:-$(dirname "$0")/..}
cd "$root/src"

# folder -> folders it may include (besides itself)
declare -A allowed=(
  [common]=""
  [dns]="common"
  [sip/message]="common"
  [sip/parser]="common sip/message"
  [sip/transaction]="common sip/message sip/parser"
  [sip/transport]="common sip/message sip/parser sip/transaction"
  [sip/proxy]="common sip/message sip/parser sip/transaction"
  [policy]=""
  [federation]="common policy dns sip/message sip/parser sip/transaction sip/proxy"
  [store]="common"
  [registrar]="common sip/message sip/parser sip/transaction sip/proxy store"
  [im]="common sip/message sip/parser sip/transaction sip/proxy store registrar"
  [config]="common sip/message sip/parser"
  [admin]="common sip/message policy store registrar"
  [server]="common sip/message sip/parser sip/transaction sip/transport sip/proxy policy store registrar im config admin"
)
# folders that must not include heavy I/O headers
core="common sip/message sip/parser sip/transaction"

status=0
for folder in "${!allowed[@]}"; do
  [[ -d $folder ]] || continue
  while IFS= read -r -d '' file; do
    while IFS= read -r inc; do
      ok=0
      for dep in $folder ${allowed[$folder]}; do
        [[ $inc == "$dep/"* ]] && ok=1
      done
      # sip/message/... must not match folder "sip" prefixes of other folders: check the
      # longest folder that contains the include.
      if [[ $ok -eq 1 && $inc == */internal/* && $inc != "$folder/"* ]]; then ok=0; fi
      if [[ $ok -eq 0 ]]; then
        echo "src/$file: includes \"$inc\", not allowed for src/$folder"
        status=1
      fi
    done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$file")
    if [[ " $core " == *" $folder "* ]] && grep -Eq '^#include <(asio|openssl|boost)' "$file"; then
      echo "src/$file: data-plane core includes asio/OpenSSL"
      status=1
    fi
  done < <(find "$folder" -maxdepth 2 \( -name '*.h' -o -name '*.cc' \) -print0)
done
# Every src folder with code has a README.
for folder in "${!allowed[@]}"; do
  [[ -f $folder/README.md ]] || { echo "src/$folder: missing README.md"; status=1; }
done
[[ $status -eq 0 ]] && echo "include direction: ok"
exit $status
