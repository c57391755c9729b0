/*
 * v1 Pod: only what endpoints and policy need.  A Pod spec has hundreds
 * of fields svcproxy has no use for, so unknown fields are ignored here
 * (the strictness covers the kinds that shape traffic rules).
 */
#include "config.h"

#include "kobj.h"
#include "kobj_kinds.h"

static const struct kfield port_fields[] = {
	KF("name", KF_STR, struct kpod_port, name),
	KF("containerPort", KF_INT, struct kpod_port, container_port),
	KF("protocol", KF_STR, struct kpod_port, protocol),
	KF("hostPort", KF_INT, struct kpod_port, host_port),
	KF("hostIP", KF_STR, struct kpod_port, host_ip),
	KF_END
};
static const struct kschema port_schema = { "ContainerPort", 0, port_fields };

static const struct kfield container_fields[] = {
	KF("name", KF_STR, struct kpod_container, name),
	KF("restartPolicy", KF_STR, struct kpod_container, restart_policy),
	KF_L("ports", struct kpod_container, ports, port_schema,
	    struct kpod_port),
	KF_END
};
static const struct kschema container_schema = {
	"Container", 1, container_fields
};

static const struct kfield spec_fields[] = {
	KF_L("containers", struct kpod_spec, containers, container_schema,
	    struct kpod_container),
	KF_L("initContainers", struct kpod_spec, init_containers,
	    container_schema, struct kpod_container),
	KF("hostNetwork", KF_BOOL, struct kpod_spec, host_network),
	KF("nodeName", KF_STR, struct kpod_spec, node_name),
	KF("hostname", KF_STR, struct kpod_spec, hostname),
	KF("subdomain", KF_STR, struct kpod_spec, subdomain),
	KF_END
};
static const struct kschema spec_schema = { "PodSpec", 1, spec_fields };

static const struct kfield ip_fields[] = {
	KF("ip", KF_STR, struct kpod_ip, ip),
	KF_END
};
static const struct kschema ip_schema = { "PodIP", 1, ip_fields };

static const struct kfield condition_fields[] = {
	KF("type", KF_STR, struct kpod_condition, type),
	KF("status", KF_STR, struct kpod_condition, status),
	KF_END
};
static const struct kschema condition_schema = {
	"PodCondition", 1, condition_fields
};

static const struct kfield status_fields[] = {
	KF("phase", KF_STR, struct kpod_status, phase),
	KF("podIP", KF_STR, struct kpod_status, pod_ip),
	KF_L("podIPs", struct kpod_status, pod_ips, ip_schema, struct kpod_ip),
	KF_L("conditions", struct kpod_status, conditions, condition_schema,
	    struct kpod_condition),
	KF_END
};
static const struct kschema status_schema = { "PodStatus", 1, status_fields };

static const struct kfield pod_fields[] = {
	KF_O("metadata", struct kpod, meta, kobj_meta_schema),
	KF_O("spec", struct kpod, spec, spec_schema),
	KF_O("status", struct kpod, status, status_schema),
	KF_END
};
const struct kschema kobj_pod_schema = { "Pod", 1, pod_fields };
