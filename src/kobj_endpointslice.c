/* discovery.k8s.io/v1 EndpointSlice. */
#include "config.h"

#include "kobj.h"
#include "kobj_kinds.h"

static const struct kfield conditions_fields[] = {
	KF("ready", KF_BOOL, struct keps_conditions, ready),
	KF("serving", KF_BOOL, struct keps_conditions, serving),
	KF("terminating", KF_BOOL, struct keps_conditions, terminating),
	KF_END
};
static const struct kschema conditions_schema = {
	"EndpointConditions", 0, conditions_fields
};

static const struct kfield ref_fields[] = {
	KF("kind", KF_STR, struct keps_ref, kind),
	KF("namespace", KF_STR, struct keps_ref, ns),
	KF("name", KF_STR, struct keps_ref, name),
	KF_IGNORE("uid"),
	KF_IGNORE("apiVersion"),
	KF_IGNORE("resourceVersion"),
	KF_IGNORE("fieldPath"),
	KF_END
};
static const struct kschema ref_schema = { "ObjectReference", 0, ref_fields };

static const struct kfield endpoint_fields[] = {
	KF("addresses", KF_STRLIST, struct keps_endpoint, addresses),
	KF_O("conditions", struct keps_endpoint, conditions,
	    conditions_schema),
	KF("hostname", KF_STR, struct keps_endpoint, hostname),
	KF("nodeName", KF_STR, struct keps_endpoint, node_name),
	KF("zone", KF_STR, struct keps_endpoint, zone),
	KF_O("targetRef", struct keps_endpoint, target_ref, ref_schema),
	KF_IGNORE("hints"),
	KF_IGNORE("deprecatedTopology"),
	KF_END
};
static const struct kschema endpoint_schema = {
	"Endpoint", 0, endpoint_fields
};

static const struct kfield port_fields[] = {
	KF("name", KF_STR, struct keps_port, name),
	KF("port", KF_INT, struct keps_port, port),
	KF("protocol", KF_STR, struct keps_port, protocol),
	KF("appProtocol", KF_STR, struct keps_port, app_protocol),
	KF_END
};
static const struct kschema port_schema = { "EndpointPort", 0, port_fields };

static const struct kfield eps_fields[] = {
	KF_IGNORE("apiVersion"),
	KF_IGNORE("kind"),
	KF_O("metadata", struct keps, meta, kobj_meta_schema),
	KF("addressType", KF_STR, struct keps, address_type),
	KF_L("endpoints", struct keps, endpoints, endpoint_schema,
	    struct keps_endpoint),
	KF_L("ports", struct keps, ports, port_schema, struct keps_port),
	KF_END
};
const struct kschema kobj_endpointslice_schema = {
	"EndpointSlice", 0, eps_fields
};
