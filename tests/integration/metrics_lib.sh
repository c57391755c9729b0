# Reading svcproxy's /metrics in the data-path tests (sourced after
# tcp_lib.sh, which defines pass, fail and expect).  ADDR is the
# adminAddress the test gave the proxy (a free loopback port, never the
# default 9180).  A counter is checked by its exact value, or by its
# change over a scenario, never by the log alone: the log says what
# happened, /metrics is what an operator is alerted on.

# portm NAME NS SVC PORT [EXTRA]: the series of a per Service port
# metric, labels in the order svcproxy prints them.
portm() {
	echo "$1{namespace=\"$2\",service=\"$3\",port=\"$4\",protocol=\"TCP\"${5:+,$5}}"
}

# epm NAME NS SVC PORT ENDPOINT: a per endpoint series.
epm() {
	portm "$1" "$2" "$3" "$4" "endpoint=\"$5\""
}

# mval ADDR SERIES: its value, "none" when /metrics does not have it,
# "unreachable" when /metrics does not answer 200.
mval() {
	local out
	out=$(curl -sf --max-time 5 "http://$1/metrics") ||
	    { echo unreachable; return; }
	printf '%s\n' "$out" | awk -v m="$2" '
	    index($0, m " ") == 1 { print $2; found = 1; exit }
	    END { if (!found) print "none" }'
}

# wait_mval ADDR SERIES WANT [SECONDS]: poll (every 0.1 s, up to
# SECONDS, default 10) until SERIES is WANT; print the last value seen.
# Counters are added when a connection closes, which can be a moment
# after its client saw the close: poll, do not sleep.
wait_mval() {
	local i n=$(( ${4:-10} * 10 )) v
	for i in $(seq 1 "$n"); do
		v=$(mval "$1" "$2")
		[ "$v" = "$3" ] && break
		sleep 0.1
	done
	echo "$v"
}

# expect_metric DESC ADDR SERIES WANT: poll, then check the exact value.
expect_metric() {
	expect "$1" "$4" "$(wait_mval "$2" "$3" "$4")"
}

# expect_metric_delta DESC ADDR SERIES BEFORE DELTA: SERIES moved from
# BEFORE by exactly DELTA.
expect_metric_delta() {
	local want
	want=$(python3 -c "print(int('$4') + int('$5'))" 2>/dev/null) ||
	    { fail "$1: bad earlier value '$4'"; return; }
	expect "$1" "$want" "$(wait_mval "$2" "$3" "$want")"
}

# expect_metric_in DESC ADDR SERIES LO HI: LO <= value <= HI (polled
# until it is at least LO).
expect_metric_in() {
	local i v
	for i in $(seq 1 100); do
		v=$(mval "$2" "$3")
		case $v in
		''|*[!0-9]*) ;;
		*) [ "$v" -ge "$4" ] && break ;;
		esac
		sleep 0.1
	done
	case $v in
	''|*[!0-9]*) fail "$1: no value ($v)"; return ;;
	esac
	if [ "$v" -ge "$4" ] && [ "$v" -le "$5" ]; then
		pass "$1 ($v)"
	else
		fail "$1: $v not in [$4, $5]"
	fi
}

# prom_lint FILE DESC: FILE (a /metrics answer) passes `promtool check
# metrics`: the text format's parser and Prometheus' lint (names,
# types, help, counters' _total).  CI installs promtool (.ci/deps:
# prometheus); without it, a skip that says so.
prom_lint() {
	if ! command -v promtool >/dev/null; then
		pass "$2 # SKIP no promtool (.ci/deps --test installs prometheus)"
		return
	fi
	if promtool check metrics <"$1" >"$1.lint" 2>&1; then
		pass "$2"
	else
		fail "$2: $(head -5 "$1.lint" | tr '\n' ' ')"
	fi
}
