/*
 * kobj-t.h: Kubernetes objects as svcproxy reads them, typed.
 *
 * Every struct here is filled by the schema decoder (kobj.c) from a
 * YAML node tree, and every pointer in it points into the same arena as
 * that tree (the loader's arena, see load.h): nothing here is freed on
 * its own.  Each decoded struct begins with `y`, the node it came from
 * (NULL: the field was absent or null), so validation can point at the
 * line and column of any field (ydoc_get(x->y, "port")).
 */
#ifndef SVCPROXY_KOBJ_T_H
#define SVCPROXY_KOBJ_T_H

#include <stddef.h>
#include <stdint.h>

struct ynode;

/* An optional integer: set is 0 when the field was absent or null. */
struct kint {
	int			 set;
	int64_t			 v;
};

struct kbool {
	int			 set;
	int			 v;
};

/* intstr.IntOrString: targetPort, NetworkPolicy port. */
struct kintstr {
	int			 set;
	int			 is_str;
	int64_t			 num;
	const char		*str;
};

struct kpair {
	const char		*key;
	const char		*value;
	const struct ynode	*ky;		/* key node, for its mark */
};

/* map[string]string: labels, annotations, selector, matchLabels. */
struct kstrmap {
	const struct ynode	*y;
	size_t			 n;
	struct kpair		*v;
};

struct kstrlist {
	const struct ynode	*y;
	size_t			 n;
	const char		**v;
};

/* A list of decoded structs; every element begins with `y`. */
#define KLIST(type)	struct { size_t n; type *v; }

struct kmeta {
	const struct ynode	*y;
	const char		*name;
	const char		*ns;		/* "namespace" */
	const char		*generate_name;
	const char		*creation_timestamp;
	const char		*deletion_timestamp;
	struct kstrmap		 labels;
	struct kstrmap		 annotations;
};

/* metav1.LabelSelector */
struct klabel_req {
	const struct ynode	*y;
	const char		*key;
	const char		*op;		/* "operator" */
	struct kstrlist		 values;
};

struct klabel_selector {
	const struct ynode	*y;		/* NULL: absent (not {}) */
	struct kstrmap		 match_labels;
	KLIST(struct klabel_req) match_expressions;
};

/* ---- v1 Service ---- */

struct ksvc_port {
	const struct ynode	*y;
	const char		*name;
	const char		*protocol;
	const char		*app_protocol;
	struct kint		 port;
	struct kintstr		 target_port;
	struct kint		 node_port;
};

struct ksvc_client_ip {
	const struct ynode	*y;
	struct kint		 timeout_seconds;
};

struct ksvc_affinity_config {
	const struct ynode	*y;
	struct ksvc_client_ip	 client_ip;
};

struct ksvc_spec {
	const struct ynode	*y;
	const char		*type;
	struct kstrmap		 selector;
	KLIST(struct ksvc_port)	 ports;
	const char		*cluster_ip;
	struct kstrlist		 cluster_ips;
	struct kstrlist		 external_ips;
	const char		*external_name;
	const char		*load_balancer_ip;
	struct kstrlist		 load_balancer_source_ranges;
	const char		*load_balancer_class;
	const char		*session_affinity;
	struct ksvc_affinity_config session_affinity_config;
	struct kbool		 publish_not_ready_addresses;
	struct kbool		 allocate_load_balancer_node_ports;
	const char		*external_traffic_policy;
	const char		*internal_traffic_policy;
	struct kint		 health_check_node_port;
	struct kstrlist		 ip_families;
	const char		*ip_family_policy;
	const char		*traffic_distribution;
};

struct ksvc_lb_ingress {
	const struct ynode	*y;
	const char		*ip;
	const char		*hostname;
	const char		*ip_mode;
};

struct ksvc_lb_status {
	const struct ynode	*y;
	KLIST(struct ksvc_lb_ingress) ingress;
};

struct ksvc_status {
	const struct ynode	*y;
	struct ksvc_lb_status	 load_balancer;
};

/*
 * Every kind begins with y, file, invalid, meta in this order: the
 * loader reaches them through one view (load.c struct kobj_any).
 */
struct ksvc {
	const struct ynode	*y;
	const char		*file;
	int			 invalid;	/* validation failed */
	struct kmeta		 meta;
	struct ksvc_spec	 spec;
	struct ksvc_status	 status;
};

/* ---- v1 Pod (only what svcproxy uses; other fields are ignored) ---- */

struct kpod_port {
	const struct ynode	*y;
	const char		*name;
	struct kint		 container_port;
	const char		*protocol;
	struct kint		 host_port;
	const char		*host_ip;
};

struct kpod_container {
	const struct ynode	*y;
	const char		*name;
	const char		*restart_policy;	/* sidecars */
	KLIST(struct kpod_port)	 ports;
};

struct kpod_spec {
	const struct ynode	*y;
	KLIST(struct kpod_container) containers;
	KLIST(struct kpod_container) init_containers;
	struct kbool		 host_network;
	const char		*node_name;
	const char		*hostname;	/* DNS-1123 label or NULL */
	const char		*subdomain;	/* a headless Service's name:
						   its endpoint is then named
						   hostname (DNS) */
};

struct kpod_ip {
	const struct ynode	*y;
	const char		*ip;
};

struct kpod_condition {
	const struct ynode	*y;
	const char		*type;
	const char		*status;
};

struct kpod_status {
	const struct ynode	*y;
	const char		*phase;
	const char		*pod_ip;
	KLIST(struct kpod_ip)	 pod_ips;
	KLIST(struct kpod_condition) conditions;
};

struct kpod {
	const struct ynode	*y;
	const char		*file;
	int			 invalid;
	struct kmeta		 meta;
	struct kpod_spec	 spec;
	struct kpod_status	 status;
};

/* ---- v1 Namespace ---- */

/* A level whose fields are checked but not kept. */
struct kchecked {
	const struct ynode	*y;
};

struct kns {
	const struct ynode	*y;
	const char		*file;
	int			 invalid;
	struct kmeta		 meta;
	int			 implicit;	/* referenced, not declared */
	struct kchecked		 spec;
	struct kchecked		 status;
};

/* ---- discovery.k8s.io/v1 EndpointSlice ---- */

struct keps_conditions {
	const struct ynode	*y;
	struct kbool		 ready;
	struct kbool		 serving;
	struct kbool		 terminating;
};

struct keps_ref {
	const struct ynode	*y;
	const char		*kind;
	const char		*ns;
	const char		*name;
};

struct keps_endpoint {
	const struct ynode	*y;
	struct kstrlist		 addresses;
	struct keps_conditions	 conditions;
	const char		*hostname;
	const char		*node_name;
	const char		*zone;
	struct keps_ref		 target_ref;
};

struct keps_port {
	const struct ynode	*y;
	const char		*name;
	struct kint		 port;
	const char		*protocol;
	const char		*app_protocol;
};

struct keps {
	const struct ynode	*y;
	const char		*file;
	int			 invalid;
	struct kmeta		 meta;
	const char		*address_type;
	KLIST(struct keps_endpoint) endpoints;
	KLIST(struct keps_port)	 ports;
};

/* ---- networking.k8s.io/v1 NetworkPolicy ---- */

struct knp_ipblock {
	const struct ynode	*y;
	const char		*cidr;
	struct kstrlist		 except;
};

struct knp_peer {
	const struct ynode	*y;
	struct klabel_selector	 pod_selector;
	struct klabel_selector	 namespace_selector;
	struct knp_ipblock	 ip_block;
};

struct knp_port {
	const struct ynode	*y;
	const char		*protocol;
	struct kintstr		 port;
	struct kint		 end_port;
};

/* One ingress or egress rule: peers are `from` or `to`. */
struct knp_rule {
	const struct ynode	*y;
	KLIST(struct knp_peer)	 peers;
	KLIST(struct knp_port)	 ports;
};

struct knp_spec {
	const struct ynode	*y;
	struct klabel_selector	 pod_selector;
	struct kstrlist		 policy_types;
	KLIST(struct knp_rule)	 ingress;
	KLIST(struct knp_rule)	 egress;
};

struct knetpol {
	const struct ynode	*y;
	const char		*file;
	int			 invalid;
	struct kmeta		 meta;
	struct knp_spec		 spec;
	/* Set by validation: policyTypes after defaulting. */
	int			 isolates_ingress;
	int			 isolates_egress;
};

/* ---- svcproxy.io/v1alpha1 ProxyConfig ---- */

struct kpcfg_lb {
	const struct ynode	*y;
	const char		*algorithm;
	const char		*hash_key;
	struct kint		 maglev_table_size;
};

/* spec.sessionAffinity: the bound of ClientIP affinity's tables. */
struct kpcfg_affinity {
	const struct ynode	*y;
	struct kint		 max_entries_per_port;
};

struct kpcfg_outlier {
	const struct ynode	*y;
	struct kint		 consecutive_failures;
	const char		*base_ejection_time;
	struct kint		 max_ejection_percent;
};

/* spec.healthCheck: the defaults of the svcproxy.io/health-* and
   outlier annotations. */
struct kpcfg_hc {
	const struct ynode	*y;
	const char		*type;
	const char		*interval;
	const char		*timeout;
	struct kint		 rise;
	struct kint		 fall;
	const char		*path;
	const char		*host;
	const char		*method;
	const char		*expect_status;
	struct kpcfg_outlier	 outlier;
	struct kint		 panic_threshold;
	const char		*on_down;
	const char		*slow_start;
};

/* spec.dns: the cluster DNS responder. */
struct kpcfg_dns {
	const struct ynode	*y;
	const char		*listen;
	const char		*cluster_domain;
	struct kint		 ttl;
};

struct kpcfg_xn {
	const struct ynode	*y;
	struct kstrlist		 nameservers;
	const char		*min_ttl;
	const char		*max_ttl;
	const char		*hold_on_failure;
};

struct kpcfg_spec {
	const struct ynode	*y;
	struct kstrlist		 node_addresses;
	const char		*node_port_range;
	struct kstrlist		 load_balancer_pool;
	const char		*service_cidr;
	struct kint		 workers;
	const char		*admin_address;
	const char		*connect_timeout;
	const char		*idle_timeout;
	const char		*drain_timeout;
	struct kint		 max_connections;
	const char		*udp_idle_timeout;
	struct kint		 udp_max_flows;
	const char		*connection_log;
	const char		*listener_sockets;
	const char		*log_format;
	struct kbool		 keep_established;
	const char		*proxy_protocol;
	struct kstrlist		 pp_trusted;
	const char		*pp_timeout;
	const char		*local_ca;	/* localTrafficClientAddress */
	struct kpcfg_lb		 load_balancing;
	struct kpcfg_hc		 health_check;
	struct kpcfg_affinity	 session_affinity;
	struct kpcfg_dns	 dns;
	struct kpcfg_xn		 external_name;
};

struct kpcfg {
	const struct ynode	*y;
	const char		*file;
	int			 invalid;
	struct kmeta		 meta;
	struct kpcfg_spec	 spec;
};

#endif
