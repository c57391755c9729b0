#!/usr/bin/env python3
"""gen_config.py: a large, realistic svcproxy configuration directory.

Writes N Services, M Pods and K NetworkPolicies (default 5000/50000/1000)
spread over namespaces, in the shape `kubectl get -o yaml` prints, for
bench/scale.sh:

  - one file per namespace (Namespace, Services, Pods, EndpointSlices,
    NetworkPolicies) plus proxyconfig.yaml;
  - app.kubernetes.io/* labels, pod-template-hash, ReplicaSet-style Pod
    names; Service selectors that match exactly their own Pods;
  - named target ports (http, grpc) whose numbers vary between Pods of
    one Service (a canary on another port), a numeric metrics port;
  - ~95% of Pods Ready, ~1% terminating (deletionTimestamp);
  - ~8% of Services selector-less, backed by EndpointSlices labelled
    kubernetes.io/service-name (their endpoints are not Pods);
  - ~5% NodePort and ~2% LoadBalancer Services (half with an explicit
    nodePort, half allocated), some sessionAffinity: ClientIP, some
    svcproxy.io/* annotations, some allocated clusterIPs;
  - NetworkPolicies: a default deny per namespace, then allow rules from
    namespaces, from Pods (matchLabels and matchExpressions), from
    ipBlocks with except, ports with endPort.

Every address is loopback (127.0.0.0/8): Service IPs 127.192.0.0/12,
Pods 127.1.0.0/16 upwards, EndpointSlice endpoints 127.128.0.0/16,
LoadBalancer pool 127.160.0.0/16, node address 127.0.0.1.

The NodePort range 30000-32767 has 2768 ports; when the Services need
more (--nodeport-pct), the ProxyConfig gets a wider nodePortRange.

Output is deterministic for a given --seed.  Usage:
  bench/gen_config.py -o bench/out/scale [--services 5000] [--pods 50000]
      [--netpols 1000] [--namespaces 100] [--seed 1]
"""

import argparse
import ipaddress
import os
import random
import shutil
import sys

WORDS = """checkout cart catalog search payments orders inventory shipping
users auth session billing invoice ledger pricing promo reviews ratings
recommend notify email sms push gateway frontend backend api admin
reports analytics events ingest stream etl scheduler worker queue cache
store media images thumbs upload download export import audit metrics
logs tracing config flags geo maps routing fleet tracking loyalty
wallet fraud risk kyc support chat tickets docs wiki search-index""".split()
TEAMS = """platform commerce growth data identity finance logistics
mobile web infra security ml""".split()
ENVS = ["prod", "staging", "dev"]
COMPONENTS = ["server", "api", "worker", "consumer", "proxy"]

POD_BASE = int(ipaddress.IPv4Address("127.1.0.0"))
EPS_BASE = int(ipaddress.IPv4Address("127.128.0.0"))
SVC_CIDR = "127.192.0.0/12"
SVC_BASE = int(ipaddress.IPv4Address("127.192.0.0"))
LB_POOL = "127.160.0.0/16"
LB_BASE = int(ipaddress.IPv4Address("127.160.0.0"))


def host_ip(base, i):
    """The i-th address from base, skipping .0 and .255 last octets."""
    n = i // 254 * 256 + i % 254 + 1
    return str(ipaddress.IPv4Address(base + n))


def hexid(rng, n):
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def uid(rng):
    return "%s-%s-4%s-%s%s-%s" % (hexid(rng, 8), hexid(rng, 4),
                                  hexid(rng, 3), rng.choice("89ab"),
                                  hexid(rng, 3), hexid(rng, 12))


def suffix(rng, n):
    """Like Kubernetes' rand.String: never all digits, so YAML reads it
    as a string (an unquoted 4013396e0 would be a number)."""
    while True:
        s = "".join(rng.choice("bcdfghjklmnpqrstvwxz2456789")
                    for _ in range(n))
        if not s.isdigit():
            return s


class Gen:
    def __init__(self, args):
        self.a = args
        self.rng = random.Random(args.seed)
        self.rv = 1000
        self.next_pod = 0
        self.next_eps = 0
        self.next_svc_ip = 0
        self.next_lb = 0
        self.next_nodeport = 30000
        self.nodeports = 0
        self.stats = dict(services=0, pods=0, endpointslices=0,
                          netpols=0, namespaces=0, nodeport=0,
                          loadbalancer=0, eps_services=0)

    def resver(self):
        self.rv += self.rng.randint(1, 40)
        return '"%d"' % self.rv

    def ts(self):
        r = self.rng
        return '"2024-%02d-%02dT%02d:%02d:%02dZ"' % (
            r.randint(1, 12), r.randint(1, 28), r.randint(0, 23),
            r.randint(0, 59), r.randint(0, 59))

    # ---- namespaces ----

    def namespace(self, out, name, team, env):
        out.append("""apiVersion: v1
kind: Namespace
metadata:
  creationTimestamp: %s
  labels:
    env: %s
    kubernetes.io/metadata.name: %s
    team: %s
  name: %s
  resourceVersion: %s
  uid: %s
spec:
  finalizers:
  - kubernetes
status:
  phase: Active
""" % (self.ts(), env, name, team, name, self.resver(), uid(self.rng)))
        self.stats["namespaces"] += 1

    # ---- services ----

    def service(self, out, ns, app, team, kind, selectorless, ports, npods):
        r = self.rng
        lines = ["apiVersion: v1", "kind: Service", "metadata:"]
        ann = []
        if r.random() < 0.1:
            ann.append("    svcproxy.io/idle-timeout: %dm"
                       % r.choice([1, 5, 30, 60]))
        if r.random() < 0.05:
            ann.append('    svcproxy.io/max-connections: "%d"'
                       % r.choice([100, 1000, 10000]))
        if ann:
            lines += ["  annotations:"] + ann
        lines += ["  creationTimestamp: %s" % self.ts(),
                  "  labels:",
                  "    app.kubernetes.io/component: %s" % app["component"],
                  "    app.kubernetes.io/name: %s" % app["name"],
                  "    app.kubernetes.io/part-of: %s" % team,
                  "  name: %s" % app["name"],
                  "  namespace: %s" % ns,
                  "  resourceVersion: %s" % self.resver(),
                  "  uid: %s" % uid(r),
                  "spec:"]
        if kind == "LoadBalancer":
            lines.append("  allocateLoadBalancerNodePorts: true")
        # A quarter of the clusterIPs are left to svcproxy to allocate.
        if r.random() < 0.75:
            ip = host_ip(SVC_BASE, self.next_svc_ip)
            self.next_svc_ip += 1
            lines += ["  clusterIP: %s" % ip, "  clusterIPs:", "  - %s" % ip]
        if kind != "ClusterIP":
            lines.append("  externalTrafficPolicy: Cluster")
        lines += ["  internalTrafficPolicy: Cluster",
                  "  ipFamilies:", "  - IPv4",
                  "  ipFamilyPolicy: SingleStack",
                  "  ports:"]
        for p in ports:
            lines += ["  - name: %s" % p["name"]]
            if kind != "ClusterIP":
                # Half the NodePorts are chosen here, half allocated.
                if r.random() < 0.5:
                    lines.append("    nodePort: %d" % self.next_nodeport)
                    self.next_nodeport += 1
                self.nodeports += 1
            lines += ["    port: %d" % p["port"], "    protocol: TCP"]
            if selectorless:
                lines.append("    targetPort: %d" % p["target_num"])
            else:
                lines.append("    targetPort: %s" % p["target"])
        if not selectorless:
            lines += ["  selector:",
                      "    app.kubernetes.io/instance: %s" % app["instance"],
                      "    app.kubernetes.io/name: %s" % app["name"]]
        if r.random() < 0.05:
            lines += ["  sessionAffinity: ClientIP",
                      "  sessionAffinityConfig:", "    clientIP:",
                      "      timeoutSeconds: 10800"]
        else:
            lines.append("  sessionAffinity: None")
        lines.append("  type: %s" % kind)
        lines.append("status:")
        if kind == "LoadBalancer" and r.random() < 0.5:
            ip = host_ip(LB_BASE, self.next_lb)
            self.next_lb += 1
            lines += ["  loadBalancer:", "    ingress:",
                      "    - ip: %s" % ip, "      ipMode: VIP"]
        else:
            lines.append("  loadBalancer: {}")
        out.append("\n".join(lines) + "\n")
        self.stats["services"] += 1
        if kind == "NodePort":
            self.stats["nodeport"] += 1
        elif kind == "LoadBalancer":
            self.stats["loadbalancer"] += 1

    # ---- pods ----

    def pod(self, out, ns, app, team, ports, rs_hash, canary):
        r = self.rng
        name = "%s-%s-%s" % (app["name"], rs_hash, suffix(r, 5))
        ip = host_ip(POD_BASE, self.next_pod)
        self.next_pod += 1
        ready = r.random() < 0.95
        terminating = r.random() < 0.01
        lines = ["apiVersion: v1", "kind: Pod", "metadata:",
                 "  creationTimestamp: %s" % self.ts()]
        if terminating:
            lines += ["  deletionGracePeriodSeconds: 30",
                      "  deletionTimestamp: %s" % self.ts()]
        lines += ["  generateName: %s-%s-" % (app["name"], rs_hash),
                  "  labels:",
                  "    app.kubernetes.io/component: %s" % app["component"],
                  "    app.kubernetes.io/instance: %s" % app["instance"],
                  "    app.kubernetes.io/name: %s" % app["name"],
                  "    app.kubernetes.io/part-of: %s" % team,
                  "    pod-template-hash: %s" % rs_hash]
        if app.get("monitoring"):
            lines.append("    role: monitoring")
        lines += ["  name: %s" % name,
                  "  namespace: %s" % ns,
                  "  ownerReferences:",
                  "  - apiVersion: apps/v1",
                  "    blockOwnerDeletion: true",
                  "    controller: true",
                  "    kind: ReplicaSet",
                  "    name: %s-%s" % (app["name"], rs_hash),
                  "    uid: %s" % app["rs_uid"],
                  "  resourceVersion: %s" % self.resver(),
                  "  uid: %s" % uid(r),
                  "spec:",
                  "  containers:",
                  "  - image: registry.example/%s/%s:1.%d.%d" % (
                      team, app["name"], r.randint(0, 9), r.randint(0, 20)),
                  "    imagePullPolicy: IfNotPresent",
                  "    name: %s" % app["component"],
                  "    ports:"]
        for p in ports:
            num = p["target_num"] + (1 if canary and p["named"] else 0)
            lines += ["    - containerPort: %d" % num]
            if p["named"]:
                lines.append("      name: %s" % p["target"])
            lines.append("      protocol: TCP")
        lines += ["    resources:",
                  "      requests:",
                  "        cpu: 100m",
                  "        memory: 128Mi",
                  "  dnsPolicy: ClusterFirst",
                  "  nodeName: node-%d" % r.randint(1, 50),
                  "  restartPolicy: Always",
                  "  serviceAccountName: default",
                  "status:",
                  "  conditions:",
                  "  - lastProbeTime: null",
                  "    lastTransitionTime: %s" % self.ts(),
                  '    status: "True"',
                  "    type: Initialized",
                  "  - lastProbeTime: null",
                  "    lastTransitionTime: %s" % self.ts(),
                  '    status: "%s"' % ("True" if ready else "False"),
                  "    type: Ready",
                  "  hostIP: 127.0.0.1",
                  "  phase: Running",
                  "  podIP: %s" % ip,
                  "  podIPs:",
                  "  - ip: %s" % ip,
                  "  qosClass: Burstable",
                  "  startTime: %s" % self.ts()]
        out.append("\n".join(lines) + "\n")
        self.stats["pods"] += 1

    # ---- endpoint slices ----

    def endpointslice(self, out, ns, app, ports, n, idx):
        r = self.rng
        lines = ["addressType: IPv4",
                 "apiVersion: discovery.k8s.io/v1",
                 "endpoints:"]
        for _ in range(n):
            ip = host_ip(EPS_BASE, self.next_eps)
            self.next_eps += 1
            ready = r.random() < 0.9
            lines += ["- addresses:", "  - %s" % ip,
                      "  conditions:",
                      "    ready: %s" % ("true" if ready else "false"),
                      "    serving: %s" % ("true" if ready else "false"),
                      "    terminating: false",
                      "  nodeName: vm-%d" % r.randint(1, 200)]
        lines += ["kind: EndpointSlice",
                  "metadata:",
                  "  creationTimestamp: %s" % self.ts(),
                  "  generation: %d" % r.randint(1, 9),
                  "  labels:",
                  "    endpointslice.kubernetes.io/managed-by: "
                  "bench.svcproxy.io",
                  "    kubernetes.io/service-name: %s" % app["name"],
                  "  name: %s-%d" % (app["name"], idx),
                  "  namespace: %s" % ns,
                  "  resourceVersion: %s" % self.resver(),
                  "  uid: %s" % uid(r),
                  "ports:"]
        for p in ports:
            lines += ["- name: %s" % p["name"],
                      "  port: %d" % p["target_num"],
                      "  protocol: TCP"]
        out.append("\n".join(lines) + "\n")
        self.stats["endpointslices"] += 1

    # ---- network policies ----

    def netpol_head(self, ns, name):
        return ["apiVersion: networking.k8s.io/v1",
                "kind: NetworkPolicy",
                "metadata:",
                "  creationTimestamp: %s" % self.ts(),
                "  generation: 1",
                "  name: %s" % name,
                "  namespace: %s" % ns,
                "  resourceVersion: %s" % self.resver(),
                "  uid: %s" % uid(self.rng),
                "spec:"]

    def netpol_deny(self, out, ns):
        lines = self.netpol_head(ns, "default-deny-ingress")
        lines += ["  podSelector: {}", "  policyTypes:", "  - Ingress"]
        out.append("\n".join(lines) + "\n")
        self.stats["netpols"] += 1

    def netpol_allow(self, out, ns, idx, app, all_ns, teams):
        r = self.rng
        lines = self.netpol_head(ns, "allow-%s-%d" % (app["name"], idx))
        lines += ["  ingress:", "  - from:"]
        kind = idx % 4
        if kind == 0:
            lines += ["    - namespaceSelector:",
                      "        matchLabels:",
                      "          team: %s" % r.choice(teams)]
        elif kind == 1:
            lines += ["    - namespaceSelector:",
                      "        matchLabels:",
                      "          kubernetes.io/metadata.name: %s"
                      % r.choice(all_ns),
                      "      podSelector:",
                      "        matchLabels:",
                      "          role: monitoring"]
        elif kind == 2:
            lines += ["    - podSelector:",
                      "        matchExpressions:",
                      "        - key: app.kubernetes.io/component",
                      "          operator: In",
                      "          values:",
                      "          - api",
                      "          - proxy",
                      "        - key: canary",
                      "          operator: DoesNotExist"]
        else:
            a = r.randint(1, 250)
            lines += ["    - ipBlock:",
                      "        cidr: 127.%d.0.0/16" % a,
                      "        except:",
                      "        - 127.%d.%d.0/24" % (a, r.randint(0, 255)),
                      "        - 127.%d.%d.0/24" % (a, r.randint(0, 255))]
        lines.append("    ports:")
        if r.random() < 0.3:
            base = r.choice([8000, 9000, 10000])
            lines += ["    - endPort: %d" % (base + r.randint(10, 999)),
                      "      port: %d" % base,
                      "      protocol: TCP"]
        else:
            lines += ["    - port: http", "      protocol: TCP",
                      "    - port: 9090", "      protocol: TCP"]
        lines += ["  podSelector:",
                  "    matchLabels:",
                  "      app.kubernetes.io/name: %s" % app["name"],
                  "  policyTypes:", "  - Ingress"]
        out.append("\n".join(lines) + "\n")
        self.stats["netpols"] += 1

    # ---- the whole configuration ----

    def run(self):
        a = self.a
        r = self.rng
        nns = max(1, min(a.namespaces, a.services))
        nodeport_svcs = int(a.services * a.nodeport_pct / 100)
        lb_svcs = int(a.services * a.lb_pct / 100)
        # Upper bound of NodePorts needed (two ports per service at most).
        need = 2 * (nodeport_svcs + lb_svcs)
        port_max = 32767 if need <= 2000 else 30000 + need + 1000
        if port_max > 65535:
            sys.exit("gen_config: too many NodePort/LoadBalancer Services "
                     "for one node address")

        if os.path.exists(a.output):
            shutil.rmtree(a.output)
        os.makedirs(a.output)
        with open(os.path.join(a.output, "proxyconfig.yaml"), "w") as f:
            f.write("""# Generated by bench/gen_config.py (seed %d).  Loopback only.
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata:
  name: svcproxy
spec:
  nodeAddresses:
  - 127.0.0.1
  nodePortRange: 30000-%d
  loadBalancerPool:
  - %s
  serviceCIDR: %s
  adminAddress: 127.0.0.1:19180
""" % (a.seed, port_max, LB_POOL, SVC_CIDR))

        ns_names = []
        for i in range(nns):
            team = TEAMS[i % len(TEAMS)]
            env = ENVS[i // len(TEAMS) % len(ENVS)]
            ns_names.append(("%s-%s-%03d" % (team, env, i), team, env))
        all_ns = [n for n, _, _ in ns_names]

        # Service kinds, spread evenly: first the selector-less ones.
        kinds = (["NodePort"] * nodeport_svcs + ["LoadBalancer"] * lb_svcs
                 + ["ClusterIP"] * (a.services - nodeport_svcs - lb_svcs))
        r.shuffle(kinds)
        n_eps_svc = int(a.services * a.eps_pct / 100)
        selectorless = [True] * n_eps_svc + \
            [False] * (a.services - n_eps_svc)
        r.shuffle(selectorless)
        n_sel = a.services - n_eps_svc
        # Pods per selector Service: M spread as evenly as possible.
        pods_for = [a.pods // n_sel + (1 if i < a.pods % n_sel else 0)
                    for i in range(n_sel)] if n_sel else []
        pods_for.reverse()
        netpols_left = a.netpols

        svc_i = 0
        for nsi, (ns, team, env) in enumerate(ns_names):
            out = []
            self.namespace(out, ns, team, env)
            nsvc = a.services // nns + (1 if nsi < a.services % nns else 0)
            nnp = netpols_left // (nns - nsi)
            netpols_left -= nnp
            apps = []
            for k in range(nsvc):
                word = WORDS[(svc_i * 7 + k) % len(WORDS)]
                app = dict(name="%s-%d" % (word, k),
                           instance="%s-%s" % (word, env),
                           component=r.choice(COMPONENTS),
                           rs_uid=uid(r),
                           monitoring=(k % 10 == 0))
                apps.append(app)
                ports = [dict(name="http", port=80, target="http",
                              target_num=8080, named=True)]
                if r.random() < 0.3:
                    ports.append(dict(name="grpc", port=9000,
                                      target="grpc", target_num=9000,
                                      named=True))
                if r.random() < 0.3:
                    ports.append(dict(name="metrics", port=9090,
                                      target="9090", target_num=9090,
                                      named=False))
                kind = kinds[svc_i]
                if kind != "ClusterIP":
                    ports = ports[:2]
                sl = selectorless[svc_i]
                self.service(out, ns, app, team, kind, sl, ports, 0)
                if sl:
                    self.stats["eps_services"] += 1
                    nslices = 1 if r.random() < 0.8 else 2
                    for s in range(nslices):
                        self.endpointslice(out, ns, app, ports,
                                           r.randint(2, 12), s)
                else:
                    n = pods_for.pop()
                    rs_hash = suffix(r, 10)
                    for p in range(n):
                        self.pod(out, ns, app, team, ports, rs_hash,
                                 canary=(p == n - 1 and n > 3))
                svc_i += 1
            if nnp > 0:
                self.netpol_deny(out, ns)
                for j in range(nnp - 1):
                    self.netpol_allow(out, ns, j, apps[j % len(apps)]
                                      if apps else dict(name="none"),
                                      all_ns, TEAMS)
            with open(os.path.join(a.output, "%s.yaml" % ns), "w") as f:
                f.write("# Generated by bench/gen_config.py.  "
                        "Loopback only.\n")
                f.write("---\n".join(out))
        return self.stats


def main():
    p = argparse.ArgumentParser(
        description="Generate a large svcproxy configuration directory.")
    p.add_argument("-o", "--output", default="bench/out/scale",
                   help="directory to (re)create (default %(default)s)")
    p.add_argument("--services", type=int, default=5000)
    p.add_argument("--pods", type=int, default=50000)
    p.add_argument("--netpols", type=int, default=1000)
    p.add_argument("--namespaces", type=int, default=100)
    p.add_argument("--nodeport-pct", type=float, default=5.0,
                   help="percent of Services of type NodePort")
    p.add_argument("--lb-pct", type=float, default=2.0,
                   help="percent of Services of type LoadBalancer")
    p.add_argument("--eps-pct", type=float, default=8.0,
                   help="percent of Services backed by EndpointSlices")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    if a.services < 1 or a.pods < 0 or a.netpols < 0:
        p.error("counts must be positive")
    if a.pods >= 254 * 256 * 60:
        p.error("too many Pods for 127.1.0.0-127.60.255.255")
    st = Gen(a).run()
    size = sum(os.path.getsize(os.path.join(a.output, f))
               for f in os.listdir(a.output))
    print("gen_config: %s: %d namespaces, %d services (%d NodePort, "
          "%d LoadBalancer, %d EndpointSlice-backed), %d pods, "
          "%d endpointslices, %d network policies, %.1f MB" % (
              a.output, st["namespaces"], st["services"], st["nodeport"],
              st["loadbalancer"], st["eps_services"], st["pods"],
              st["endpointslices"], st["netpols"], size / 1e6))


if __name__ == "__main__":
    main()
