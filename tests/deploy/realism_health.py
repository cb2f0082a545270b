"""realism plugin: Route53 health checks that fail on demand (issue 19).

moto's get-health-check-status always answers every checker "Success: HTTP Status Code: 200"; real
Route53 reports what its checkers saw, and a check counts as unhealthy once 82% or more of them fail
(Route53 developer guide, "How Amazon Route 53 determines whether a health check is healthy"). With
`health-check-failing` on, every checker of the health checks named in `ids` (ids separated by spaces
or '+', or "all") reports `status` instead, so `make status` and anything else that reads the status
can be tested against a failing region:

    self.moto.realism(on={"health-check-failing": {"ids": hc_id}})
"""
import xml.etree.ElementTree as ET

from realism import Behaviour, behaviour, strip_ns

FAILURE = "Failure: HTTP Status Code 503, Service Unavailable. Resolved IP: 192.0.2.1"


@behaviour("health-check-failing", ids="", status=FAILURE)
class HealthCheckFailing(Behaviour):
    """GetHealthCheckStatus: the named checks' checkers all report a failure."""

    def after(self, call, resp):
        if call.service != "route53" or call.op != "GetHealthCheckStatus" or not resp.ok:
            return resp
        ids = str(self.p["ids"]).replace("+", " ").split()
        if "all" not in ids and call.path_params.get("HealthCheckId") not in ids:
            return resp
        root = resp.xml()
        if root is None:
            return resp
        for el in root.iter():
            if strip_ns(el.tag) == "Status":
                el.text = self.p["status"]
        ET.register_namespace("", "https://route53.amazonaws.com/doc/2013-04-01/")
        resp.body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
        resp.by = self.name
        return resp
