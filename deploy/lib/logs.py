"""make logs: the function's CloudWatch logs of every region, merged in time order (issue 19). Reads only.

Input (stdin, JSON): deploy/lib/status.sh's spec. Settings from the environment:
  SINCE=15m       how far back (s, m, h, d)
  FILTER=text     only lines holding that text (sent to CloudWatch as a quoted term, checked here too)
  FOLLOW=1        keep polling (every LOGS_POLL seconds, default 2), like `sam logs --tail`
Log groups per region: /aws/lambda/<function>, and the gateway's access logs where they exist
(/aws/apigateway/<stack>, /aws/vendedlogs/apigateway/<stack>...: every group under those prefixes).
Each line: "[region] 2026-12-06T03:04:05.678Z message". Each region is read in a process of its own.
REPORT lines are summarised per region: "[region] summary: N invocations, p50 X ms, p99 Y ms, E errors"
over the lines shown (FOLLOW: every minute, over that minute). Errors: REPORT lines with "Status: error" or
"Status: timeout", and "Task timed out" / "Runtime.ExitError" / "[ERROR]" lines.
Exit 0; 1 when a region could not be read (the others are still shown); 2 bad settings.
"""
import datetime
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import awscall  # noqa: E402

DURATION = re.compile(r"\bDuration: ([0-9.]+) ms")
ERROR_LINE = re.compile(r"Task timed out|Runtime\.ExitError|\[ERROR\]|\bStatus: (error|timeout)\b")


def parse_since(text):
    m = re.fullmatch(r"([0-9]{1,6})([smhd])", text or "")
    if not m:
        awscall.die("logs: setting SINCE='%s': want a duration such as 30s, 15m, 2h or 1d" % (text or "")[:40])
    return int(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


def groups_of(aws, spec, region):
    groups = ["/aws/lambda/" + spec["regions"][0]["fn"]]
    for prefix in ("/aws/apigateway/" + spec["stack"], "/aws/vendedlogs/apigateway/" + spec["stack"]):
        found = aws(region, "logs", "describe-log-groups", "--log-group-name-prefix", prefix).get("logGroups", [])
        groups += [g["logGroupName"] for g in found]
    return groups


def fetch(arg):
    """One region's events since start_ms: [(timestamp, region, group, eventId, message)]."""
    aws, spec, region, groups, start_ms, text = arg
    events = []
    for g in groups:
        args = ["--log-group-name", g, "--start-time", str(start_ms)]
        if text:
            args += ["--filter-pattern", '"%s"' % text.replace('"', '')]
        ans = aws.find("ResourceNotFoundException", region, "logs", "filter-log-events", *args)
        for e in (ans or {}).get("events", []):
            msg = e.get("message", "").rstrip("\n")
            if text and text not in msg:
                continue
            events.append((e["timestamp"], region, g, e.get("eventId", ""), msg))
    return events


def stamp(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def percentile(values, p):
    """Nearest-rank percentile (the value at rank ceil(p/100 * n))."""
    v = sorted(values)
    k = max(1, -(-p * len(v) // 100))
    return v[int(k) - 1]


class Summary:
    def __init__(self, regions):
        self.regions = regions
        self.reset()

    def reset(self):
        self.durations = {r: [] for r in self.regions}
        self.errors = {r: 0 for r in self.regions}

    def add(self, region, msg):
        if msg.startswith("REPORT "):
            m = DURATION.search(msg)
            if m:
                self.durations[region].append(float(m.group(1)))
        if ERROR_LINE.search(msg):
            self.errors[region] += 1

    def lines(self, what):
        out = []
        for r in self.regions:
            d = self.durations[r]
            lat = ", p50 %.1f ms, p99 %.1f ms" % (percentile(d, 50), percentile(d, 99)) if d else ""
            out.append("[%s] summary (%s): %d invocations%s, %d errors" % (r, what, len(d), lat, self.errors[r]))
        return out


def main():
    spec = json.load(sys.stdin)
    since = parse_since(os.environ.get("SINCE") or "15m")
    text = os.environ.get("FILTER", "")
    follow = os.environ.get("FOLLOW", "0") not in ("", "0")
    poll = float(os.environ.get("LOGS_POLL", "2"))
    every = float(os.environ.get("LOGS_SUMMARY_SECONDS", "60"))
    regions = [r["region"] for r in spec["regions"]]
    aws = awscall.Aws()
    rc = 0
    groups = {}
    for r, (kind, val) in zip(regions, awscall.fork_map(lambda r: groups_of(aws, spec, r), regions)):
        if kind != "ok":
            print("[%s] cannot list log groups: %s" % (r, val[:300]), file=sys.stderr)
            rc = 1
        else:
            groups[r] = val
    summary = Summary(regions)
    seen = set()
    start_ms = {r: int((time.time() - since) * 1000) for r in regions}
    next_summary = time.time() + every
    while True:
        jobs = [(aws, spec, r, groups[r], start_ms[r], text) for r in regions if r in groups]
        batch = []
        for job, (kind, val) in zip(jobs, awscall.fork_map(fetch, jobs)):
            if kind != "ok":
                print("[%s] cannot read logs: %s" % (job[2], val[:300]), file=sys.stderr)
                rc = 1
                continue
            batch += val
        batch.sort(key=lambda e: (e[0], regions.index(e[1]), e[3]))
        for ts, region, group, eid, msg in batch:
            key = (region, group, eid, ts)
            if key in seen:
                continue
            seen.add(key)
            summary.add(region, msg)
            print("[%s] %s %s" % (region, stamp(ts), msg))
            # Overlapping polls: a region's next one starts at its newest event seen (CloudWatch may still
            # add events with that timestamp), and `seen` drops the repeats.
            start_ms[region] = max(start_ms[region], ts)
        if not follow:
            for line in summary.lines("last " + os.environ.get("SINCE", "15m")):
                print(line)
            break
        sys.stdout.flush()
        if time.time() >= next_summary:
            for line in summary.lines("last minute"):
                print(line)
            summary.reset()
            next_summary = time.time() + every
        time.sleep(poll)
    sys.exit(rc)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
