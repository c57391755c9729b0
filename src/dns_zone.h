/*
 * dns_zone: the cluster DNS answers as one immutable index, after the
 * Kubernetes DNS-Based Service Discovery specification (kubernetes/dns,
 * docs/specification.md).  Pure: no I/O, no libevent.  Built from a
 * resolved model at reload (or startup), then read by the DNS thread
 * only; nothing in it changes after dns_zone_build returns, so any
 * number of readers may share it.
 *
 * Records, for SERVICE.NS.svc.DOMAIN (N below):
 *   - ClusterIP: N A/AAAA the clusterIP (dual-stack: A the IPv4 one of
 *     spec.clusterIPs, AAAA the IPv6 one); each clusterIP's PTR
 *     (in-addr.arpa or ip6.arpa) names N; _PORT._PROTO.N SRV 0 100 PORT N
 *     per named port.
 *   - headless: N A/AAAA each ready endpoint address; HOST.N A/AAAA, and
 *     the address's PTR naming HOST.N, where HOST is the endpoint's
 *     hostname (the EndpointSlice endpoint's, or for a selected Pod its
 *     spec.hostname when its spec.subdomain is SERVICE), else the
 *     address with '.' or ':' written '-' (CoreDNS's form: the spec
 *     leaves it to the implementation);
 *     _PORT._PROTO.N SRV 0 100 TARGETPORT HOST.N per named port and
 *     ready endpoint.
 *   - ExternalName: N CNAME the external name.
 *   - dns-version.DOMAIN TXT "1.1.0".
 *   - DOMAIN SOA ns.dns.DOMAIN hostmaster.DOMAIN (as CoreDNS), the
 *     minimum TTL the zone's: also sent with negative answers.
 *   - A-B-C-D.NS.pod.DOMAIN A A.B.C.D (the spec's deprecated but required
 *     Pod record), made up at lookup.
 * Every name compares case-insensitively.  A name under DOMAIN that holds
 * no record but is the parent of one (NS.svc.DOMAIN, _tcp.N) answers
 * NOERROR with no records; any other unknown name under DOMAIN answers
 * NXDOMAIN.  A name outside DOMAIN, including a reverse name the zone
 * does not hold, answers REFUSED: svcproxy is no recursive resolver, and
 * REFUSED sends a stub resolver on to its next server.
 */
#ifndef SVCPROXY_DNS_ZONE_H
#define SVCPROXY_DNS_ZONE_H

#include <stddef.h>
#include <stdint.h>

struct res_model;

#define DNS_T_A		1
#define DNS_T_CNAME	5
#define DNS_T_SOA	6
#define DNS_T_PTR	12
#define DNS_T_TXT	16
#define DNS_T_AAAA	28
#define DNS_T_SRV	33

#define DNS_R_NOERROR	0
#define DNS_R_SERVFAIL	2
#define DNS_R_NXDOMAIN	3
#define DNS_R_NOTIMP	4
#define DNS_R_REFUSED	5

#define DNS_SCHEMA_VERSION	"1.1.0"
#define DNS_NAME_MAX		255	/* wire form, RFC 1035 */

/* One record's data, in wire form (names uncompressed). */
struct dns_rr {
	uint16_t		 type;
	uint16_t		 rdlen;
	const uint8_t		*rdata;		/* zone arena, or the
						   answer's scratch */
};

/*
 * What a question gets: rcode and the records of the answer section.
 * rrs are all of one type: qtype, or CNAME when the name is an
 * ExternalName Service's.  They point into the zone (or into
 * scratch), so they live as long as the zone and the answer do.
 */
struct dns_answer {
	int			 rcode;
	uint32_t		 ttl;
	const struct dns_rr	*rrs;
	size_t			 nrrs;
	const char		*soa_name;	/* negative answers in the
						   domain (NXDOMAIN, or no
						   record of the type): the
						   zone's SOA, for the
						   authority section (RFC 2308
						   negative caching); else
						   NULL.  The zone's */
	const struct dns_rr	*soa;
	struct dns_rr		 scratch;	/* a record made up at lookup */
	uint8_t			 scratch_data[4];
};

struct dns_zone;

/*
 * Build the zone of m's Services under domain (lower case, no final
 * dot), every record with ttl seconds.  Returns a zone with one
 * reference (the caller's), or NULL when out of memory.  m may be freed
 * afterwards: the zone copies what it keeps.
 */
struct dns_zone	*dns_zone_build(const struct res_model *m, const char *domain,
		    uint32_t ttl);

/* References: the zone is freed by the last unref (atomics: any thread). */
struct dns_zone	*dns_zone_ref(struct dns_zone *);
void		 dns_zone_unref(struct dns_zone *);

/* Counts, for the log line of a build. */
size_t		 dns_zone_nnames(const struct dns_zone *);
size_t		 dns_zone_nrecords(const struct dns_zone *);

/*
 * Answer one question.  qname is text as sent ("a.b." or "a.b", any
 * case).  Fills *out (rcode, records); never allocates.
 */
void		 dns_zone_lookup(const struct dns_zone *, const char *qname,
		    uint16_t qtype, struct dns_answer *out);

/*
 * A name in wire form: labels, each its length then its bytes, ending
 * with the root's 0.  Returns the length written, or 0 when name does
 * not fit in len or is not a valid name (empty or long label).
 */
size_t		 dns_name_wire(const char *name, uint8_t *buf, size_t len);

#endif
