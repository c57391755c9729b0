#include "config.h"

#include <string.h>

#include "proto.h"

int
proto_parse(const char *s)
{
	if (s == NULL)
		return -1;
	if (strcmp(s, "TCP") == 0)
		return PROTO_TCP;
	if (strcmp(s, "UDP") == 0)
		return PROTO_UDP;
	if (strcmp(s, "SCTP") == 0)
		return PROTO_SCTP;
	return -1;
}

const char *
proto_name(enum proto p)
{
	switch (p) {
	case PROTO_TCP:		return "TCP";
	case PROTO_UDP:		return "UDP";
	case PROTO_SCTP:	return "SCTP";
	}
	return "TCP";
}

const char *
proto_lower(enum proto p)
{
	switch (p) {
	case PROTO_TCP:		return "tcp";
	case PROTO_UDP:		return "udp";
	case PROTO_SCTP:	return "sctp";
	}
	return "tcp";
}
