#!/bin/bash
# Check a capture of NFS traffic with Wireshark's dissectors (tshark): every RPC record on
# TCP port 2049 must decode as well-formed ONC RPC / NFSv4.
#
#   pcap-check.sh PCAP...
#
# Fails (exit 1) when, in any PCAP,
#   - a frame is malformed (_ws.malformed: the dissector ran out of data or met an impossible
#     value), or
#   - a frame carries expert information of severity error (_ws.expert.severity == error),
#     or tshark's expert tap (-z expert) counts any item of severity error,
#   - or no NFS call or no NFS reply was decoded at all (an empty or broken capture, or one
#     of the wrong port, must not pass).
# As evidence it prints, per file, the frames, the NFS calls and replies per minor version
# and the COMPOUND operations by name with their counts. Warnings and notes (e.g. "bitmap
# data left undissected", TCP segments not captured at the start) are counted, not failed.
#
# Port 2049 is decoded as ONC RPC by tshark's own port table (checked with tshark 4.0,
# Debian bookworm); -d says so explicitly all the same, so loopback captures decode the same
# way whatever a user's preferences say. RPC-over-TCP records are reassembled across
# segments (rpc.desegment_rpc_over_tcp, rpc.defragment_rpc_over_tcp,
# tcp.desegment_tcp_streams: the defaults, set explicitly too).
# Exit status: 0 all files clean, 1 a check failed, 2 usage or tshark missing.
set -uo pipefail
[ $# -ge 1 ] || { echo "usage: pcap-check.sh PCAP..." >&2; exit 2; }
command -v tshark >/dev/null || { echo "pcap-check: tshark is not installed" >&2; exit 2; }

ts() { # tshark on one file with our decoding settings; the root warning goes away
    tshark -n -r "$@" -d tcp.port==2049,rpc \
        -o rpc.desegment_rpc_over_tcp:TRUE \
        -o rpc.defragment_rpc_over_tcp:TRUE -o tcp.desegment_tcp_streams:TRUE 2>/dev/null
}
# opcode number -> name, from tshark's own value strings
opnames=$(tshark -G values 2>/dev/null | awk -F'\t' '$1 == "V" && $2 == "nfs.opcode" { print $3 "\t" $4 }')

bad=0
for pcap in "$@"; do
    echo "# pcap-check: $pcap ($(stat -c %s "$pcap" 2>/dev/null || echo '?') bytes)"
    if [ ! -r "$pcap" ]; then
        echo "not ok - $pcap: cannot read it"; bad=1; continue
    fi
    # One pass: per frame, the fields that matter, tab-separated, several values of one
    # field (one per RPC message in the frame) joined by commas:
    # frame, malformed, expert severities, RPC message types and programs, NFS minor
    # versions (one per COMPOUND call) and opcodes.
    fields=$(mktemp)
    if ! ts "$pcap" -T fields -E separator=/t -E occurrence=a -E aggregator=, \
            -e frame.number -e _ws.malformed -e _ws.expert.severity -e rpc.msgtyp \
            -e rpc.program -e nfs.minorversion -e nfs.opcode > "$fields"; then
        echo "not ok - $pcap: tshark cannot read it"; bad=1; rm -f "$fields"; continue
    fi
    frames=$(wc -l < "$fields")
    # _ws.malformed is an FT_NONE item: its field is present (non-empty) only on a malformed
    # frame. Severity 8388608 is PI_ERROR (tshark -G values: _ws.expert.severity ... Error).
    summary=$(awk -F'\t' -v names="$opnames" '
        BEGIN { n = split(names, l, "\n"); for (i = 1; i <= n; i++) { split(l[i], kv, "\t"); op[kv[1]] = kv[2] } }
        $2 != "" { malformed++; if (mlist_n++ < 10) mlist = mlist " " $1 }
        {
            e = split($3, sev, ",")
            isErr = 0
            for (i = 1; i <= e; i++) {
                if (sev[i] == 8388608) isErr = 1
                else if (sev[i] == 6291456) warns++
                else if (sev[i] == 4194304) notes++
            }
            if (isErr) { errors++; if (elist_n++ < 10) elist = elist " " $1 }
            # RPC messages of program NFS (100003): calls and replies. A reply names its
            # program only when its call was captured too.
            m = split($4, mt, ","); split($5, pg, ",")
            calls_here = 0
            for (i = 1; i <= m; i++) {
                if (pg[i] != 100003) continue
                if (mt[i] == 0) { calls++; calls_here++ } else replies++
            }
            # Each COMPOUND call carries its minor version; replies do not.
            v = split($6, mv, ",")
            for (i = 1; i <= v; i++) byver[mv[i]]++
            # Operations of calls (a frame goes one way: if it carries NFS calls, its
            # opcodes are those of calls; replies repeat them).
            if (calls_here > 0 && $7 != "") {
                k = split($7, o, ",")
                for (i = 1; i <= k; i++) ops[o[i]]++
            }
        }
        END {
            printf "frames_malformed=%d\nframes_error=%d\nwarnings=%d\nnotes=%d\n", malformed, errors, warns, notes
            printf "malformed_list=%s\nerror_list=%s\n", mlist, elist
            printf "nfs_calls=%d\nnfs_replies=%d\n", calls, replies
            for (ver in byver) printf "version\t4.%s\t%d\n", ver, byver[ver]
            for (o1 in ops) printf "op\t%s\t%d\n", (o1 in op ? op[o1] : "op" o1), ops[o1]
        }' "$fields")
    rm -f "$fields"
    val() { printf '%s\n' "$summary" | sed -n "s/^$1=//p"; }
    malformed=$(val frames_malformed) errors=$(val frames_error)
    calls=$(val nfs_calls) replies=$(val nfs_replies)
    # A second, independent count: the expert tap sees every expert item a dissector adds,
    # also those that never make it into a tree (and so escape a display filter).
    tap=$(ts "$pcap" -q -z expert,warn)
    tap_errors=$(printf '%s\n' "$tap" | sed -n 's/^Errors (\([0-9]*\)).*/\1/p')
    tap_warns=$(printf '%s\n' "$tap" | sed -n 's/^Warns (\([0-9]*\)).*/\1/p')
    tap_errors=${tap_errors:-0} tap_warns=${tap_warns:-0}
    echo "#   $frames frames; NFS calls $calls, replies $replies"
    echo "#   expert items (tap): $tap_errors errors, $tap_warns warnings; frames with a warning $(val warnings), with a note $(val notes)"
    printf '%s\n' "$tap" | awk '/^(Errors|Warns) \(/ { sec = $1; next } sec != "" && $1 ~ /^[0-9]+$/ {
            $1 = $1; print "#     " sec ": " $0 }' | head -12
    printf '%s\n' "$summary" | awk -F'\t' '$1 == "version" { printf "#   NFSv%s: %d COMPOUND calls\n", $2, $3 }' | sort
    printf '%s\n' "$summary" | awk -F'\t' '$1 == "op" { print $3 "\t" $2 }' | sort -k1,1nr -k2 |
        awk -F'\t' '{ line = line sprintf("%s=%s, ", $2, $1) } END { sub(/, $/, "", line); print "#   ops in calls: " (line == "" ? "(none)" : line) }' | fold -s -w 100 | sed '2,$s/^/#     /'

    fail=0
    if [ "$malformed" -ne 0 ]; then
        echo "not ok - $pcap: $malformed malformed frame(s), first:$(val malformed_list)"; fail=1
    fi
    if [ "$errors" -ne 0 ]; then
        echo "not ok - $pcap: $errors frame(s) with an expert error, first:$(val error_list)"; fail=1
    fi
    if [ "$tap_errors" -ne 0 ]; then
        echo "not ok - $pcap: tshark's expert tap counts $tap_errors error(s)"; fail=1
    fi
    if [ "$malformed" -ne 0 ] || [ "$errors" -ne 0 ] || [ "$tap_errors" -ne 0 ]; then
        # Show what tshark says about the first offenders.
        ts "$pcap" -Y '_ws.malformed || _ws.expert.severity == error' -T fields -E separator=' | ' \
            -e frame.number -e _ws.col.Info -e _ws.expert.message 2>/dev/null | head -10 | sed 's/^/#   /'
    fi
    if [ "$calls" -eq 0 ] || [ "$replies" -eq 0 ]; then
        echo "not ok - $pcap: no NFS decoded ($calls calls, $replies replies): not a capture of NFS on port 2049"; fail=1
    fi
    if [ $fail -eq 0 ]; then
        echo "ok - $pcap: no malformed frame, no expert error in $calls NFS calls and $replies replies"
    else
        bad=1
    fi
done
exit $bad
