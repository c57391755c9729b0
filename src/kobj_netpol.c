/* networking.k8s.io/v1 NetworkPolicy. */
#include "config.h"

#include "kobj.h"
#include "kobj_kinds.h"

static const struct kfield ipblock_fields[] = {
	KF("cidr", KF_STR, struct knp_ipblock, cidr),
	KF("except", KF_STRLIST, struct knp_ipblock, except),
	KF_END
};
static const struct kschema ipblock_schema = { "IPBlock", 0, ipblock_fields };

static const struct kfield peer_fields[] = {
	KF_O("podSelector", struct knp_peer, pod_selector,
	    kobj_label_selector_schema),
	KF_O("namespaceSelector", struct knp_peer, namespace_selector,
	    kobj_label_selector_schema),
	KF_O("ipBlock", struct knp_peer, ip_block, ipblock_schema),
	KF_END
};
static const struct kschema peer_schema = {
	"NetworkPolicyPeer", 0, peer_fields
};

static const struct kfield port_fields[] = {
	KF("protocol", KF_STR, struct knp_port, protocol),
	KF("port", KF_INTSTR, struct knp_port, port),
	KF("endPort", KF_INT, struct knp_port, end_port),
	KF_END
};
static const struct kschema port_schema = {
	"NetworkPolicyPort", 0, port_fields
};

static const struct kfield ingress_fields[] = {
	KF_L("from", struct knp_rule, peers, peer_schema, struct knp_peer),
	KF_L("ports", struct knp_rule, ports, port_schema, struct knp_port),
	KF_END
};
static const struct kschema ingress_schema = {
	"NetworkPolicyIngressRule", 0, ingress_fields
};

static const struct kfield egress_fields[] = {
	KF_L("to", struct knp_rule, peers, peer_schema, struct knp_peer),
	KF_L("ports", struct knp_rule, ports, port_schema, struct knp_port),
	KF_END
};
static const struct kschema egress_schema = {
	"NetworkPolicyEgressRule", 0, egress_fields
};

static const struct kfield spec_fields[] = {
	KF_O("podSelector", struct knp_spec, pod_selector,
	    kobj_label_selector_schema),
	KF("policyTypes", KF_STRLIST, struct knp_spec, policy_types),
	KF_L("ingress", struct knp_spec, ingress, ingress_schema,
	    struct knp_rule),
	KF_L("egress", struct knp_spec, egress, egress_schema,
	    struct knp_rule),
	KF_END
};
static const struct kschema spec_schema = {
	"NetworkPolicySpec", 0, spec_fields
};

static const struct kfield netpol_fields[] = {
	KF_IGNORE("apiVersion"),
	KF_IGNORE("kind"),
	KF_O("metadata", struct knetpol, meta, kobj_meta_schema),
	KF_O("spec", struct knetpol, spec, spec_schema),
	KF_IGNORE("status"),
	KF_END
};
const struct kschema kobj_netpol_schema = {
	"NetworkPolicy", 0, netpol_fields
};
