#!/usr/bin/env python3
"""moto server with what its API Gateway v2 domain names lack: the regional target.

moto 5's get-domain-name only echoes its input; real API Gateway also answers, per configuration,
ApiGatewayDomainName (d-<id>.execute-api.<region>.amazonaws.com), HostedZoneId (the region's API
Gateway zone, which Route53 alias records need) and DomainNameStatus. This adds them to
DomainName.to_json, then runs moto.server.main with the arguments given (e.g. -H 127.0.0.1 -p PORT).
The hosted zone ids are those of AWS's published table of API Gateway regional endpoints
(https://docs.aws.amazon.com/general/latest/gr/apigateway.html, "Route 53 Hosted Zone ID"); a region
missing from it gets no HostedZoneId, so the deploy scripts fail on it as they would on plain moto.
"""
import hashlib
import sys

import moto.apigatewayv2.models as models
import moto.server

APIGW_ZONES = {
    "us-east-2": "ZOJJZC49E0EPZ",
    "us-east-1": "Z1UJRXOUMOOFQ8",
    "us-west-1": "Z2MUQ32089INYE",
    "us-west-2": "Z2OJLYMUO9EFXC",
    "ap-south-1": "Z3VO1THU9YC4UR",
    "ap-northeast-2": "Z20JF4UZKIW1U8",
    "ap-southeast-1": "ZL327KTPIQFUL",
    "ap-southeast-2": "Z2RPCDW04V8134",
    "ap-northeast-1": "Z1YSHQZHG15GKL",
    "ca-central-1": "Z19DQILCV0OWEC",
    "eu-central-1": "Z1U9ULNL0V5AJ3",
    "eu-west-1": "ZLY8HYME6SFDD",
    "eu-west-2": "ZJ5UAJN8Y3Z2Q",
    "eu-west-3": "Z3KY65QIEKYHQQ",
    "sa-east-1": "ZCMLWB8V5SYIT",
}

_plain_to_json = models.DomainName.to_json


def _to_json(self):
    out = _plain_to_json(self)
    region = self.domain_name_arn.split(":")[3]
    target = "d-%s.execute-api.%s.amazonaws.com" % (
        hashlib.sha256((region + self.domain_name).encode()).hexdigest()[:10], region)
    confs = []
    for conf in out.get("domainNameConfigurations") or []:
        conf = dict(conf, apiGatewayDomainName=target, domainNameStatus="AVAILABLE")
        if region in APIGW_ZONES:
            conf["hostedZoneId"] = APIGW_ZONES[region]
        confs.append(conf)
    out["domainNameConfigurations"] = confs
    return out


if "--plain" in sys.argv:  # plain moto (the test that the scripts fail clearly without the fields)
    sys.argv.remove("--plain")
else:
    models.DomainName.to_json = _to_json
sys.argv[0] = "moto_server"
sys.exit(moto.server.main())
