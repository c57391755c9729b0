/* The root schema of every kind svcproxy reads (kobj_<kind>.c). */
#ifndef SVCPROXY_KOBJ_KINDS_H
#define SVCPROXY_KOBJ_KINDS_H

#include "kobj.h"

extern const struct kschema kobj_service_schema;
extern const struct kschema kobj_pod_schema;
extern const struct kschema kobj_namespace_schema;
extern const struct kschema kobj_endpointslice_schema;
extern const struct kschema kobj_netpol_schema;
extern const struct kschema kobj_proxyconfig_schema;

#endif
