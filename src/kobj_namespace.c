/* v1 Namespace: a name and labels for namespaceSelector. */
#include "config.h"

#include "kobj.h"
#include "kobj_kinds.h"

static const struct kfield spec_fields[] = {
	KF_IGNORE("finalizers"),
	KF_END
};
static const struct kschema spec_schema = { "NamespaceSpec", 0, spec_fields };

static const struct kfield status_fields[] = {
	KF_IGNORE("phase"),
	KF_IGNORE("conditions"),
	KF_END
};
static const struct kschema status_schema = {
	"NamespaceStatus", 0, status_fields
};

static const struct kfield namespace_fields[] = {
	KF_IGNORE("apiVersion"),
	KF_IGNORE("kind"),
	KF_O("metadata", struct kns, meta, kobj_meta_schema),
	KF_O("spec", struct kns, spec, spec_schema),
	KF_O("status", struct kns, status, status_schema),
	KF_END
};
const struct kschema kobj_namespace_schema = {
	"Namespace", 0, namespace_fields
};
