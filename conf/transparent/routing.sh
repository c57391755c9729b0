#!/bin/sh
# The return path of transparent mode (svcproxy.io/source-address:
# client; README "Client address"), on the svcproxy node, which must be
# the backends' gateway.  svcproxy connects to a backend from the
# client's address; the backend's reply is addressed to the client, and
# the kernel would forward it there (or drop it) instead of handing it
# to svcproxy's socket.  These lines make the replies local, as
# HAProxy's TPROXY setup does (its doc/configuration.txt, "usesrc"):
# a rule sends them to a table of their own, whose one route says
# "every address is local here".
#
# The rule picks the replies by where they come from: in on the
# backends' interface, TCP, from the port a backend serves (the
# Services' targetPorts).  A backend's own outgoing connections come
# from other ports and are routed as before.  Run as root; undo with
# "ip rule del" / "ip route del" of the same lines (or ACTION=del).
#
#   BACKEND_IF=eth1 BACKEND_PORTS="8080 9000-9100" sh routing.sh
#
# When the targetPorts are many or not known, mark instead the packets
# that belong to a transparent socket (nftables' "socket transparent",
# or iptables' "-m socket"), and route the mark (see README.md here).
set -eu
BACKEND_IF=${BACKEND_IF:?the interface the backends are reached on}
BACKEND_PORTS=${BACKEND_PORTS:?their target ports: N or N-M, space separated}
TABLE=${TABLE:-100}		# a routing table of its own
PRIO=${PRIO:-100}		# before the main table's rule (32766)
ACTION=${ACTION:-add}

if [ "$ACTION" = add ]; then
	# svcproxy is the backends' gateway: their other traffic goes on.
	sysctl -qw net.ipv4.ip_forward=1
	sysctl -qw net.ipv6.conf.all.forwarding=1
fi
ip -4 route "$ACTION" local 0.0.0.0/0 dev lo table "$TABLE"
ip -6 route "$ACTION" local ::/0 dev lo table "$TABLE"
for p in $BACKEND_PORTS; do
	ip -4 rule "$ACTION" iif "$BACKEND_IF" ipproto tcp sport "$p" \
	    lookup "$TABLE" priority "$PRIO"
	ip -6 rule "$ACTION" iif "$BACKEND_IF" ipproto tcp sport "$p" \
	    lookup "$TABLE" priority "$PRIO"
done
