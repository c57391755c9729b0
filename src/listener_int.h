/*
 * listener_int: what the listener*.c files share and nothing else
 * includes.  listener.c opens, binds and tables the sockets;
 * listener_inherit.c reads and writes the list of sockets a binary
 * upgrade hands over, and calls listener.c, never the other way.  The
 * public interface is listener.h.
 */
#ifndef SVCPROXY_LISTENER_INT_H
#define SVCPROXY_LISTENER_INT_H

#include "proto.h"

/* listener.c */

/*
 * What follows an address in messages: nothing for TCP, so that TCP's
 * messages read as they always did, "/UDP" or "/SCTP" for the others.
 */
const char	*lsn_suffix(enum proto);

#endif
