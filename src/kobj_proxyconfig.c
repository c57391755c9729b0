/* svcproxy.io/v1alpha1 ProxyConfig: svcproxy's own settings. */
#include "config.h"

#include "kobj.h"
#include "kobj_kinds.h"

static const struct kfield lb_fields[] = {
	KF("algorithm", KF_STR, struct kpcfg_lb, algorithm),
	KF("hashKey", KF_STR, struct kpcfg_lb, hash_key),
	KF("maglevTableSize", KF_INT, struct kpcfg_lb, maglev_table_size),
	KF_END
};
static const struct kschema lb_schema = {
	"ProxyConfigLoadBalancing", 0, lb_fields
};

static const struct kfield affinity_fields[] = {
	KF("maxEntriesPerPort", KF_INT, struct kpcfg_affinity,
	    max_entries_per_port),
	KF_END
};
static const struct kschema affinity_schema = {
	"ProxyConfigSessionAffinity", 0, affinity_fields
};

static const struct kfield outlier_fields[] = {
	KF("consecutiveFailures", KF_INT, struct kpcfg_outlier,
	    consecutive_failures),
	KF("baseEjectionTime", KF_STR, struct kpcfg_outlier,
	    base_ejection_time),
	KF("maxEjectionPercent", KF_INT, struct kpcfg_outlier,
	    max_ejection_percent),
	KF_END
};
static const struct kschema outlier_schema = {
	"ProxyConfigOutlierDetection", 0, outlier_fields
};

static const struct kfield hc_fields[] = {
	KF("type", KF_STR, struct kpcfg_hc, type),
	KF("interval", KF_STR, struct kpcfg_hc, interval),
	KF("timeout", KF_STR, struct kpcfg_hc, timeout),
	KF("rise", KF_INT, struct kpcfg_hc, rise),
	KF("fall", KF_INT, struct kpcfg_hc, fall),
	KF("path", KF_STR, struct kpcfg_hc, path),
	KF("host", KF_STR, struct kpcfg_hc, host),
	KF("method", KF_STR, struct kpcfg_hc, method),
	KF("expectStatus", KF_STR, struct kpcfg_hc, expect_status),
	KF_O("outlierDetection", struct kpcfg_hc, outlier, outlier_schema),
	KF("panicThreshold", KF_INT, struct kpcfg_hc, panic_threshold),
	KF("onDown", KF_STR, struct kpcfg_hc, on_down),
	KF("slowStart", KF_STR, struct kpcfg_hc, slow_start),
	KF_END
};
static const struct kschema hc_schema = {
	"ProxyConfigHealthCheck", 0, hc_fields
};

static const struct kfield dns_fields[] = {
	KF("listen", KF_STR, struct kpcfg_dns, listen),
	KF("clusterDomain", KF_STR, struct kpcfg_dns, cluster_domain),
	KF("ttl", KF_INT, struct kpcfg_dns, ttl),
	KF_END
};
static const struct kschema dns_schema = {
	"ProxyConfigDNS", 0, dns_fields
};

static const struct kfield xn_fields[] = {
	KF("nameservers", KF_STRLIST, struct kpcfg_xn, nameservers),
	KF("minTTL", KF_STR, struct kpcfg_xn, min_ttl),
	KF("maxTTL", KF_STR, struct kpcfg_xn, max_ttl),
	KF("holdOnFailure", KF_STR, struct kpcfg_xn, hold_on_failure),
	KF_END
};
static const struct kschema xn_schema = {
	"ProxyConfigExternalName", 0, xn_fields
};

static const struct kfield spec_fields[] = {
	KF("nodeAddresses", KF_STRLIST, struct kpcfg_spec, node_addresses),
	KF("nodePortRange", KF_STR, struct kpcfg_spec, node_port_range),
	KF("loadBalancerPool", KF_STRLIST, struct kpcfg_spec,
	    load_balancer_pool),
	KF("serviceCIDR", KF_STR, struct kpcfg_spec, service_cidr),
	KF("workers", KF_INT, struct kpcfg_spec, workers),
	KF("adminAddress", KF_STR, struct kpcfg_spec, admin_address),
	KF("connectTimeout", KF_STR, struct kpcfg_spec, connect_timeout),
	KF("idleTimeout", KF_STR, struct kpcfg_spec, idle_timeout),
	KF("drainTimeout", KF_STR, struct kpcfg_spec, drain_timeout),
	KF("maxConnections", KF_INT, struct kpcfg_spec, max_connections),
	KF("udpIdleTimeout", KF_STR, struct kpcfg_spec, udp_idle_timeout),
	KF("udpMaxFlows", KF_INT, struct kpcfg_spec, udp_max_flows),
	KF("connectionLog", KF_STR, struct kpcfg_spec, connection_log),
	KF("listenerSockets", KF_STR, struct kpcfg_spec, listener_sockets),
	KF("logFormat", KF_STR, struct kpcfg_spec, log_format),
	KF("keepEstablishedOnPolicyChange", KF_BOOL, struct kpcfg_spec,
	    keep_established),
	KF("proxyProtocol", KF_STR, struct kpcfg_spec, proxy_protocol),
	KF("proxyProtocolTrustedSources", KF_STRLIST, struct kpcfg_spec,
	    pp_trusted),
	KF("proxyProtocolTimeout", KF_STR, struct kpcfg_spec, pp_timeout),
	KF("localTrafficClientAddress", KF_STR, struct kpcfg_spec, local_ca),
	KF_O("loadBalancing", struct kpcfg_spec, load_balancing, lb_schema),
	KF_O("healthCheck", struct kpcfg_spec, health_check, hc_schema),
	KF_O("sessionAffinity", struct kpcfg_spec, session_affinity,
	    affinity_schema),
	KF_O("dns", struct kpcfg_spec, dns, dns_schema),
	KF_O("externalName", struct kpcfg_spec, external_name, xn_schema),
	KF_END
};
static const struct kschema spec_schema = {
	"ProxyConfigSpec", 0, spec_fields
};

static const struct kfield pcfg_fields[] = {
	KF_IGNORE("apiVersion"),
	KF_IGNORE("kind"),
	KF_O("metadata", struct kpcfg, meta, kobj_meta_schema),
	KF_O("spec", struct kpcfg, spec, spec_schema),
	KF_END
};
const struct kschema kobj_proxyconfig_schema = {
	"ProxyConfig", 0, pcfg_fields
};
