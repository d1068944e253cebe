#!/usr/bin/env bash
# Latency of a MESSAGE relay with nothing else running while SIPp measures.
#
#   bench/quiet-latency.sh KIT PROXY_PORT TRANSPORT RATE DURATION [OUTDIR]
#
# KIT is a copy of ../shared/bench (its sipp/ scenarios are used). The run is the shared
# driver's fixed-rate run (run-message-load.sh): the same SIPp UAS and UAC, scenarios and
# options, the same statistics (p50/p99/max of the UAC's RTD 1 over the MESSAGEs sent after the
# first second; failures and retransmissions from the UAC's counters). What differs is what
# happens during the run. The driver, while SIPp measures, samples CPU (awk, sed, date) at 20 %
# and 90 % of the run and then polls for the UAC's end every 0.2 s (sleep, date): a dozen
# processes started within a few ms. On this VM each burst of process starts froze both vCPUs
# for 70-80 ms (a loopback MESSAGE run at 14,000/s: every MESSAGE sent in 6.08-6.22 s and
# 27.2-27.4 s took 8-80 ms, 0.75 % of the run), which is what a p99 then measures. Here every
# process is started before the first second and none after: the UAC is waited for with one
# `tail --pid`, which polls with kill(0) and starts nothing.
#
# Prints one line: rate=N msg/s ok=N failed=N retrans=N p50_ms=X p99_ms=X max_ms=X target=N
set -uo pipefail

[[ $# -ge 5 ]] || { sed -n 2,16p "$0" >&2; exit 2; }
KIT=$1 PORT=$2 TRANSPORT=$3 RATE=$4 DUR=$5
OUT=${6:-$(mktemp -d /tmp/herald-quiet.XXXXXX)}
case $TRANSPORT in udp) T=u1 ;; tcp) T=t1 ;; *) echo "transport: udp or tcp" >&2; exit 2 ;; esac
[[ $RATE =~ ^[0-9]+$ && $DUR =~ ^[0-9]+$ ]] || { echo "RATE and DURATION: integers" >&2; exit 2; }
mkdir -p "$OUT"
BUF=4194304

sipp_pid() { sed -n 's/.*PID=\[\([0-9]*\)\].*/\1/p' "$1" | tail -1; }
stop() {  # SIPp's "stop and quit" first, then KILL
  local p=$1
  [[ -n $p ]] || return 0
  kill -USR1 "$p" 2>/dev/null || return 0
  for _ in $(seq 1 30); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null
}
UAS=""; UAC=""
trap 'stop "$UAC"; stop "$UAS"' EXIT

cd "$OUT" || exit 2
sipp -sf "$KIT/sipp/uas_message.xml" -i 127.0.0.1 -p 5090 -bind_local -t "$T" \
  -nostdin -deadcall_wait 0 -timeout $((DUR + 40))s -timer_resol 1 \
  -max_recv_loops 10000 -max_sched_loops 10000 -buff_size $BUF \
  -trace_stat -stf uas_stat.csv -fd 1 -bg >uas.out 2>&1
UAS=$(sipp_pid uas.out)
[[ -n $UAS ]] || { echo "UAS did not start:" >&2; cat uas.out >&2; exit 1; }
sleep 0.3
limit=$(( RATE * 5 > 200 ? RATE * 5 : 200 ))
sipp -sf "$KIT/sipp/uac_message.xml" -s bob -i 127.0.0.1 "127.0.0.1:$PORT" -t "$T" \
  -r "$RATE" -rp 1000 -m $((RATE * DUR)) -l $limit -recv_timeout 5000 -timeout $((DUR + 10))s \
  -nostdin -default_behaviors all,-bye -deadcall_wait 6000 -timer_resol 1 \
  -max_recv_loops 10000 -max_sched_loops 10000 -buff_size $BUF \
  -trace_stat -stf uac_stat.csv -fd 1 -trace_rtt -rtt_freq 200 -bg >uac.out 2>&1
UAC=$(sipp_pid uac.out)
[[ -n $UAC ]] || { echo "UAC did not start:" >&2; cat uac.out >&2; exit 1; }
timeout $((DUR + 15)) tail --pid="$UAC" -f /dev/null
stop "$UAC"; UAC=""
stop "$UAS"; UAS=""

# The UAC's last counters.
read -r ok failed retrans < <(awk -F';' '
  NR == 1 { for (i = 1; i <= NF; i++) h[$i] = i; next }
  { last = $0 }
  END { split(last, v, ";"); print v[h["SuccessfulCall(C)"]], v[h["FailedCall(C)"]], v[h["Retransmissions(C)"]] }' uac_stat.csv)
# RTD 1 per MESSAGE: "date_ms;rtt_ms;rtd". Sent = date - rtt; the first second is left out.
rtt=$(ls ./*_rtt.csv 2>/dev/null | head -1)
[[ -s $rtt ]] || { echo "no RTT file in $OUT" >&2; exit 1; }
awk -F';' '
  FNR == 1 { next }
  NR == FNR { s = $1 - $2; if (!seen || s < t0) { t0 = s; seen = 1 }; next }
  $3 == "1" && $1 - $2 >= t0 + 1000 { print $1, $2 }' "$rtt" "$rtt" | sort -k2,2g | awk \
  -v ok="$ok" -v failed="$failed" -v retrans="$retrans" -v rate="$RATE" -v tr="$TRANSPORT" '
  { d[NR] = $1; r[NR] = $2; if (NR == 1 || $1 < lo) lo = $1; if ($1 > hi) hi = $1 }
  END {
    if (NR == 0) { print "no measured MESSAGE" > "/dev/stderr"; exit 1 }
    i50 = int(NR * 0.50 + 0.999999); i99 = int(NR * 0.99 + 0.999999)
    span = (hi - lo) / 1000.0
    printf "rate=%.0f msg/s ok=%s failed=%s retrans=%s p50_ms=%.3f p99_ms=%.3f max_ms=%.3f target=%s transport=%s harness=quiet\n",
      (span > 0) ? (NR - 1) / span : NR, ok, failed, retrans, r[i50], r[i99], r[NR], rate, tr
  }'
