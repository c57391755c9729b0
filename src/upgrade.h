/*
 * upgrade: what the process tells the world outside it, and the binary
 * upgrade (SIGUSR2) that hands its sockets to a new process.
 */
#ifndef SVCPROXY_UPGRADE_H
#define SVCPROXY_UPGRADE_H

/*
 * systemd's notify protocol (sd_notify(3)) without libsystemd: one
 * datagram to $NOTIFY_SOCKET, if set.  Best effort.
 */
void	 upg_notify(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

#endif
