"""make status: what runs where, and whether it is healthy (issue 19). Read calls only.

Input (stdin, JSON, from deploy/lib/status.sh): the settings and every name deploy would use, per region.
Each region's reads run in a forked process of their own (awscall.fork_map), the zone's records, health
checks and the status of each check our records carry (global) in one more, so 2 regions take about as
long as 1.
Output: one table (or FORMAT=json), then the dashboard's address, then a last line:
  healthy                          exit 0
  degraded: WHAT; ...              exit 1 (a failing health check, a stopped edge, content that differs,
                                           something missing, a region that could not be read)
  drifted: SETTING; ...            exit 1 (a value that differs from the settings: edited by hand)
  degraded: ...; drifted: ...      exit 1 (both)
Health check status: Route53's checkers each report; a check counts as healthy when more than 18% of
them say Success (Route53's own rule), as get-health-check-status reports them.
"""
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import awscall  # noqa: E402

NOT_FOUND = "ResourceNotFoundException|NotFoundException|NoSuchBucket|NoSuchHealthCheck|(404)"


def norm_name(n):
    return n.rstrip(".").lower()


def region_facts(arg):
    """Every read of one region; returns a dict of raw answers (None: not there)."""
    aws, spec, reg = arg
    r = reg["region"]
    f = {"region": r}
    f["function"] = aws.find(NOT_FOUND, r, "lambda", "get-function", "--function-name", reg["fn"])
    f["alias"] = aws.find(NOT_FOUND, r, "lambda", "get-alias", "--function-name", reg["fn"], "--name", "live") \
        if f["function"] else None
    f["live"] = aws(r, "lambda", "get-function-configuration", "--function-name", reg["fn"], "--qualifier",
                    f["alias"]["FunctionVersion"]) if f["alias"] else None
    if spec["origin"] == "url":
        f["furl"] = aws.find(NOT_FOUND, r, "lambda", "get-function-url-config", "--function-name", reg["fn"],
                             "--qualifier", "live") if f["alias"] else None
    apis = [] if spec["origin"] == "url" else [a for a in aws(r, "apigatewayv2", "get-apis").get("Items", [])
            if a.get("Name") == reg["api"] and (a.get("Tags") or {}).get("nearjs:stack") == spec["stack"]]
    f["apis"] = apis
    if apis:
        aid = apis[0]["ApiId"]
        f["integrations"] = aws(r, "apigatewayv2", "get-integrations", "--api-id", aid).get("Items", [])
        f["routes"] = aws(r, "apigatewayv2", "get-routes", "--api-id", aid).get("Items", [])
        f["stages"] = aws(r, "apigatewayv2", "get-stages", "--api-id", aid).get("Items", [])
    domains = {d["DomainName"]: d for d in aws(r, "apigatewayv2", "get-domain-names").get("Items", [])}
    f["domains"] = {}
    for name in reg["domains"]:
        d = domains.get(name)
        if d is not None:
            d = dict(d, Mappings=aws(r, "apigatewayv2", "get-api-mappings", "--domain-name", name).get("Items", []))
        f["domains"][name] = d
    if spec["mode"] == "edge":
        f["instances"] = [i for res in aws(r, "ec2", "describe-instances", "--filters",
                                           "Name=tag:nearjs:stack,Values=" + spec["stack"],
                                           "Name=tag:nearjs:region,Values=" + r, "Name=tag:nearjs:role,Values=edge",
                                           "Name=instance-state-name,Values=pending,running,stopping,stopped"
                                           ).get("Reservations", []) for i in res.get("Instances", [])]
    objs = aws.find(NOT_FOUND, r, "s3api", "list-objects-v2", "--bucket", reg["content_bucket"],
                    *(["--prefix", spec["content_prefix"] + "/"] if spec["content_prefix"] else []))
    f["content"] = None if objs is None else {o["Key"]: o["ETag"] for o in objs.get("Contents") or []}
    return f


def global_facts(arg):
    aws, spec = arg
    g = {}
    g["records"] = aws("us-east-1", "route53", "list-resource-record-sets", "--hosted-zone-id",
                       spec["zone_id"]).get("ResourceRecordSets", [])
    g["health_checks"] = aws("us-east-1", "route53", "list-health-checks").get("HealthChecks", [])
    # the status of every check our records carry, here: it overlaps with the regions' reads
    ids = sorted({i for reg in spec["regions"] for i in hc_ids_of(spec, reg, g)})
    g["statuses"] = {}
    for i in ids:
        try:
            g["statuses"][i] = hc_status((aws, i))
        except awscall.AwsError as e:
            g["statuses"][i] = "unknown (%s)" % str(e)[:120]
    return g


def hc_status(arg):
    aws, hc_id = arg
    obs = aws.find(NOT_FOUND, "us-east-1", "route53", "get-health-check-status", "--health-check-id", hc_id)
    if obs is None:
        return "missing"
    reports = [o.get("StatusReport", {}).get("Status", "") for o in obs.get("HealthCheckObservations", [])]
    ok = sum(1 for s in reports if s.startswith("Success"))
    if reports and ok / len(reports) > 0.18:
        return "healthy"
    bad = [s for s in reports if not s.startswith("Success")]
    return "failing" + (": " + bad[0][:80] if bad else " (no checker reports)")


class Report:
    def __init__(self):
        self.rows = []  # (region, thing, state, detail); state ok | FAIL | DRIFT | -
        self.degraded = []
        self.drifted = []

    def row(self, region, thing, state, detail):
        self.rows.append({"region": region, "thing": thing, "state": state, "detail": detail})
        if state == "FAIL":
            self.degraded.append("%s %s: %s" % (region, thing, detail))

    def drift(self, region, thing, setting, have, want):
        text = "%s=%s (settings %s)" % (setting, have, want)
        self.rows.append({"region": region, "thing": thing, "state": "DRIFT", "detail": text})
        self.drifted.append("%s %s %s" % (region, thing, text))


def age(launch):
    try:
        t = datetime.datetime.fromisoformat(launch.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return "?"
    s = int((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds())
    for unit, n in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= n:
            return "%d%s" % (s // n, unit)
    return "%ds" % max(s, 0)


def check_function(rep, spec, reg, f):
    r, fn = reg["region"], reg["fn"]
    cfg = (f["function"] or {}).get("Configuration")
    if not cfg:
        rep.row(r, "function " + fn, "FAIL", "missing")
        return
    if not f["alias"]:
        rep.row(r, "function " + fn, "FAIL", "no live alias")
        return
    live = f["live"]
    weights = (f["alias"].get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    split = "".join(", %d%% to version %s" % (round(w * 100), v) for v, w in weights.items())
    rep.row(r, "function " + fn, "ok", "live version %s%s, code %s, %d MB" % (
        f["alias"]["FunctionVersion"], split, (live.get("CodeSha256") or "")[:12], live.get("MemorySize", 0)))
    want = {"MemorySize": spec["memory"], "Timeout": spec["timeout"], "Architecture": spec["arch"],
            "NEARJS_STORE": reg["content_store"]}
    for which, c in (("$LATEST", cfg), ("live", live)):
        have = {"MemorySize": c.get("MemorySize"), "Timeout": c.get("Timeout"),
                "Architecture": (c.get("Architectures") or ["x86_64"])[0],
                "NEARJS_STORE": ((c.get("Environment") or {}).get("Variables") or {}).get("NEARJS_STORE")}
        for k in want:
            if have[k] != want[k]:
                rep.drift(r, "function %s %s" % (fn, which), k, have[k], want[k])
    tags = f["function"].get("Tags") or {}
    at, by = tags.get("nearjs:deployed-at"), tags.get("nearjs:deployed-by")
    rep.row(r, "last deploy", "-", "%s by %s" % (at, by) if at else "no record (nearjs:deployed-at tag)")


def check_furl(rep, spec, reg, f):
    """ORIGIN=url: the function URL on live, AuthType AWS_IAM (the edges sign; nothing else may call it)."""
    r = reg["region"]
    u = f.get("furl")
    if not u:
        rep.row(r, "function URL %s:live" % reg["fn"], "FAIL", "missing")
        return
    rep.row(r, "function URL %s:live" % reg["fn"], "ok", u.get("FunctionUrl", "?"))
    if u.get("AuthType") != "AWS_IAM":
        rep.drift(r, "function URL %s:live" % reg["fn"], "AuthType", u.get("AuthType"), "AWS_IAM")


def check_api(rep, spec, reg, f):
    r = reg["region"]
    if spec["origin"] == "url":
        check_furl(rep, spec, reg, f)
        return
    if not f["apis"]:
        rep.row(r, "API " + reg["api"], "FAIL", "missing")
        return
    aid = f["apis"][0]["ApiId"]
    integ = [i for i in f["integrations"] if i.get("IntegrationType") == "AWS_PROXY"
             and i.get("IntegrationUri") == reg["alias_arn"] and i.get("PayloadFormatVersion") == "2.0"]
    route = [x for x in f["routes"] if x.get("RouteKey") == "$default"]
    stage = [s for s in f["stages"] if s.get("StageName") == "$default"]
    problems = []
    if not integ:
        problems.append("no AWS_PROXY 2.0 integration on %s:live" % reg["fn"])
    if not route:
        problems.append("no $default route")
    elif integ and route[0].get("Target") != "integrations/" + integ[0]["IntegrationId"]:
        problems.append("$default route -> %s, not the live integration" % route[0].get("Target"))
    if not stage:
        problems.append("no $default stage")
    if problems:
        rep.row(r, "API %s (%s)" % (reg["api"], aid), "FAIL", "; ".join(problems))
        return
    rep.row(r, "API %s (%s)" % (reg["api"], aid), "ok", "$default -> %s:live, stage $default" % reg["fn"])
    st = stage[0]
    rs = st.get("DefaultRouteSettings") or {}
    for k, want in (("ThrottlingRateLimit", spec["throttle_rate"]), ("ThrottlingBurstLimit", spec["throttle_burst"])):
        have = rs.get(k)
        if have is None or float(have) != float(want):
            rep.drift(r, "stage $default", k, have, want)
    if st.get("AutoDeploy") is not True:
        rep.drift(r, "stage $default", "AutoDeploy", st.get("AutoDeploy"), True)


def check_domains(rep, spec, reg, f):
    r = reg["region"]
    aid = f["apis"][0]["ApiId"] if f["apis"] else None
    for name, d in f["domains"].items():
        if d is None:
            rep.row(r, "domain " + name, "FAIL", "missing")
            continue
        maps = [m for m in d["Mappings"] if (m.get("ApiMappingKey") or "") == ""]
        conf = (d.get("DomainNameConfigurations") or [{}])[0]
        if not maps or maps[0].get("ApiId") != aid or maps[0].get("Stage") != "$default":
            rep.row(r, "domain " + name, "FAIL", "not mapped to API %s $default" % aid)
        else:
            rep.row(r, "domain " + name, "ok", "-> %s $default, %s" % (aid, conf.get("DomainNameStatus", "?")))


def check_dns(rep, spec, reg, f, g, hcs):
    """The region's records and their health checks."""
    r = reg["region"]
    recs = g["records"]

    def find(name, setid=None):
        return [x for x in recs if norm_name(x["Name"]) == name and x["Type"] == "A"
                and (setid is None or x.get("SetIdentifier") == setid)]

    def hc_text(hc):
        if not hc:
            return "no health check", "ok"
        st = hcs.get(hc, "missing")
        return "health check %s %s" % (hc, st), ("ok" if st == "healthy" else "FAIL")

    reg_name = reg["regional_name"]
    if spec["origin"] == "url":
        reg_name = None  # no regional record: the edges reach the function URL
    d = f["domains"].get(reg_name) or {}
    target = norm_name(((d.get("DomainNameConfigurations") or [{}])[0]).get("ApiGatewayDomainName") or "")
    have = find(reg_name) if reg_name else [None]
    if not reg_name:
        pass
    elif not have:
        rep.row(r, "record %s A" % reg_name, "FAIL", "missing")
    elif target and norm_name(have[0].get("AliasTarget", {}).get("DNSName", "")) != target:
        rep.row(r, "record %s A" % reg_name, "FAIL", "-> %s, not the domain's target %s" % (
            have[0].get("AliasTarget", {}).get("DNSName"), target))
    else:
        rep.row(r, "record %s A" % reg_name, "ok", "-> " + target)
    pub = reg["public_name"]
    lat = find(pub, reg["latency_setid"])
    if not lat:
        rep.row(r, "record %s A latency" % pub, "FAIL", "missing (SetIdentifier %s)" % reg["latency_setid"])
    else:
        text, state = hc_text(lat[0].get("HealthCheckId"))
        if spec["mode"] == "edge":
            text = "-> %s" % lat[0].get("AliasTarget", {}).get("DNSName")
            state = "ok"
        rep.row(r, "record %s A latency" % pub, state, text)
    if spec["mode"] != "edge":
        return
    weighted = {x.get("SetIdentifier"): x for x in find(reg["proxy_name"])}
    running = 0
    for inst in sorted(f["instances"], key=lambda i: i["InstanceId"]):
        iid = inst["InstanceId"]
        state = inst.get("State", {}).get("Name", "?")
        tags = {t["Key"]: t["Value"] for t in inst.get("Tags") or []}
        detail = "%s, build %s, up %s" % (state, tags.get("nearjs:build", "?"), age(inst.get("LaunchTime")))
        rec = weighted.get("%s-edge-%s" % (spec["stack"], iid))
        if state != "running":
            rep.row(r, "edge " + iid, "FAIL", detail)
            continue
        running += 1
        if not rec:
            rep.row(r, "edge " + iid, "FAIL", detail + ", not in %s" % reg["proxy_name"])
            continue
        text, st = hc_text(rec.get("HealthCheckId"))
        rep.row(r, "edge " + iid, st, "%s, %s, %s" % (detail, (rec.get("ResourceRecords") or [{}])[0].get("Value"), text))
    if running < spec["edge_count"]:
        rep.row(r, "edge fleet", "FAIL", "%d of %d instances running" % (running, spec["edge_count"]))
    builds = {({t["Key"]: t["Value"] for t in i.get("Tags") or []}).get("nearjs:build") for i in f["instances"]}
    if len(builds) > 1:
        rep.row(r, "edge fleet", "FAIL", "mixed builds %s (a rolling replace did not finish)" % " ".join(sorted(map(str, builds))))


def check_content(rep, spec, facts):
    lists = {f["region"]: f["content"] for f in facts}
    keys = sorted({k for c in lists.values() if c for k in c})
    for r, c in lists.items():
        if c is None:
            rep.row(r, "content", "FAIL", "bucket missing")
            continue
        differ = [k for k in keys if any((o or {}).get(k) != c.get(k) for o in lists.values() if o is not None)]
        if differ:
            rep.row(r, "content", "FAIL", "%d objects; %d differ from the other regions (%s)" % (
                len(c), len(differ), ", ".join(differ[:3]) + (" ..." if len(differ) > 3 else "")))
        else:
            rep.row(r, "content", "ok", "%d objects, ETags the same in every region" % len(c)
                    if len(lists) > 1 else "%d objects" % len(c))


def hc_ids_of(spec, reg, g):
    """The health checks status should ask about for this region (those its records carry)."""
    ids = set()
    for x in g["records"]:
        n = norm_name(x["Name"])
        if x.get("HealthCheckId") and (n == reg["proxy_name"] or (n == reg["public_name"] and
                                                                  x.get("SetIdentifier") == reg["latency_setid"])):
            ids.add(x["HealthCheckId"])
    return ids


def render_table(rep, color):
    cols = ("region", "thing", "state", "detail")
    heads = ("REGION", "WHAT", "STATE", "DETAIL")
    width = [max([len(h)] + [len(str(x[c])) for x in rep.rows]) for h, c in zip(heads, cols)]
    paint = {"ok": "32", "FAIL": "31;1", "DRIFT": "33;1"}
    out = ["  ".join(h.ljust(w) for h, w in zip(heads[:3], width[:3])) + "  " + heads[3]]
    for x in rep.rows:
        state = x["state"].ljust(width[2])
        if color and x["state"] in paint:
            state = "\033[%sm%s\033[0m" % (paint[x["state"]], state)
        out.append("  ".join([x["region"].ljust(width[0]), x["thing"].ljust(width[1]), state, x["detail"]]))
    return "\n".join(out)


def main():
    spec = json.load(sys.stdin)
    aws = awscall.Aws()
    regions = spec["regions"]
    jobs = [("g", (aws, spec))] + [("r", (aws, spec, reg)) for reg in regions]
    results = awscall.fork_map(lambda j: global_facts(j[1]) if j[0] == "g" else region_facts(j[1]), jobs)
    rep = Report()
    if results[0][0] != "ok":
        awscall.die("status: cannot read the zone %s or its health checks: %s" % (spec["zone_id"], results[0][1]), 1)
    g = results[0][1]
    facts, readable = [], []
    for reg, (kind, val) in zip(regions, results[1:]):
        if kind != "ok":
            rep.row(reg["region"], "region", "FAIL", "could not be read: " + val[:200])
            continue
        facts.append(val)
        readable.append(reg)
    statuses = g["statuses"]
    for reg, f in zip(readable, facts):
        check_function(rep, spec, reg, f)
        check_api(rep, spec, reg, f)
        check_domains(rep, spec, reg, f)
        check_dns(rep, spec, reg, f, g, statuses)
    check_content(rep, spec, facts)
    order = {reg["region"]: i for i, reg in enumerate(regions)}
    rep.rows.sort(key=lambda x: order.get(x["region"], 99))  # stable: each region's rows in check order
    verdict = []
    if rep.degraded:
        verdict.append("degraded: " + "; ".join(rep.degraded))
    if rep.drifted:
        verdict.append("drifted: " + "; ".join(rep.drifted))
    last = "; ".join(verdict) if verdict else "healthy"
    if spec["format"] == "json":
        json.dump({"rows": rep.rows, "degraded": rep.degraded, "drifted": rep.drifted,
                   "dashboard": spec["dashboard_url"], "verdict": "healthy" if not verdict else
                   ("degraded" if rep.degraded else "drifted")}, sys.stdout, indent=1)
        print()
    else:
        print(render_table(rep, spec["color"]))
        print("dashboard: " + spec["dashboard_url"])
        if spec["color"] and verdict:
            last = "\033[%sm%s\033[0m" % ("31;1" if rep.degraded else "33;1", last)
        elif spec["color"]:
            last = "\033[32;1m%s\033[0m" % last
        print(last)
    sys.exit(1 if verdict else 0)


if __name__ == "__main__":
    main()
