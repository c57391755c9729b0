/* v1 Service: the fields of core/v1 ServiceSpec and ServiceStatus. */
#include "config.h"

#include "kobj.h"
#include "kobj_kinds.h"

static const struct kfield port_fields[] = {
	KF("name", KF_STR, struct ksvc_port, name),
	KF("protocol", KF_STR, struct ksvc_port, protocol),
	KF("appProtocol", KF_STR, struct ksvc_port, app_protocol),
	KF("port", KF_INT, struct ksvc_port, port),
	KF("targetPort", KF_INTSTR, struct ksvc_port, target_port),
	KF("nodePort", KF_INT, struct ksvc_port, node_port),
	KF_END
};
static const struct kschema port_schema = { "ServicePort", 0, port_fields };

static const struct kfield client_ip_fields[] = {
	KF("timeoutSeconds", KF_INT, struct ksvc_client_ip, timeout_seconds),
	KF_END
};
static const struct kschema client_ip_schema = {
	"ClientIPConfig", 0, client_ip_fields
};

static const struct kfield affinity_fields[] = {
	KF_O("clientIP", struct ksvc_affinity_config, client_ip,
	    client_ip_schema),
	KF_END
};
static const struct kschema affinity_schema = {
	"SessionAffinityConfig", 0, affinity_fields
};

static const struct kfield spec_fields[] = {
	KF("type", KF_STR, struct ksvc_spec, type),
	KF("selector", KF_STRMAP, struct ksvc_spec, selector),
	KF_L("ports", struct ksvc_spec, ports, port_schema, struct ksvc_port),
	KF("clusterIP", KF_STR, struct ksvc_spec, cluster_ip),
	KF("clusterIPs", KF_STRLIST, struct ksvc_spec, cluster_ips),
	KF("externalIPs", KF_STRLIST, struct ksvc_spec, external_ips),
	KF("externalName", KF_STR, struct ksvc_spec, external_name),
	KF("loadBalancerIP", KF_STR, struct ksvc_spec, load_balancer_ip),
	KF("loadBalancerSourceRanges", KF_STRLIST, struct ksvc_spec,
	    load_balancer_source_ranges),
	KF("loadBalancerClass", KF_STR, struct ksvc_spec,
	    load_balancer_class),
	KF("sessionAffinity", KF_STR, struct ksvc_spec, session_affinity),
	KF_O("sessionAffinityConfig", struct ksvc_spec,
	    session_affinity_config, affinity_schema),
	KF("publishNotReadyAddresses", KF_BOOL, struct ksvc_spec,
	    publish_not_ready_addresses),
	KF("allocateLoadBalancerNodePorts", KF_BOOL, struct ksvc_spec,
	    allocate_load_balancer_node_ports),
	KF("externalTrafficPolicy", KF_STR, struct ksvc_spec,
	    external_traffic_policy),
	KF("internalTrafficPolicy", KF_STR, struct ksvc_spec,
	    internal_traffic_policy),
	KF("healthCheckNodePort", KF_INT, struct ksvc_spec,
	    health_check_node_port),
	KF("ipFamilies", KF_STRLIST, struct ksvc_spec, ip_families),
	KF("ipFamilyPolicy", KF_STR, struct ksvc_spec, ip_family_policy),
	KF("trafficDistribution", KF_STR, struct ksvc_spec,
	    traffic_distribution),
	KF_END
};
static const struct kschema spec_schema = { "ServiceSpec", 0, spec_fields };

static const struct kfield ingress_fields[] = {
	KF("ip", KF_STR, struct ksvc_lb_ingress, ip),
	KF("hostname", KF_STR, struct ksvc_lb_ingress, hostname),
	KF("ipMode", KF_STR, struct ksvc_lb_ingress, ip_mode),
	KF_IGNORE("ports"),
	KF_END
};
static const struct kschema ingress_schema = {
	"LoadBalancerIngress", 0, ingress_fields
};

static const struct kfield lb_status_fields[] = {
	KF_L("ingress", struct ksvc_lb_status, ingress, ingress_schema,
	    struct ksvc_lb_ingress),
	KF_END
};
static const struct kschema lb_status_schema = {
	"LoadBalancerStatus", 0, lb_status_fields
};

static const struct kfield status_fields[] = {
	KF_O("loadBalancer", struct ksvc_status, load_balancer,
	    lb_status_schema),
	KF_IGNORE("conditions"),
	KF_END
};
static const struct kschema status_schema = {
	"ServiceStatus", 0, status_fields
};

static const struct kfield service_fields[] = {
	KF_IGNORE("apiVersion"),
	KF_IGNORE("kind"),
	KF_O("metadata", struct ksvc, meta, kobj_meta_schema),
	KF_O("spec", struct ksvc, spec, spec_schema),
	KF_O("status", struct ksvc, status, status_schema),
	KF_END
};
const struct kschema kobj_service_schema = { "Service", 0, service_fields };
