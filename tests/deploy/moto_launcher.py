#!/usr/bin/env python3
"""moto server with what its API Gateway v2 lacks (the regional target of a domain name, and the
updates), and bucket policy conditions evaluated (see _get_permission below).

moto 5's get-domain-name only echoes its input; real API Gateway also answers, per configuration,
ApiGatewayDomainName (d-<id>.execute-api.<region>.amazonaws.com), HostedZoneId (the region's API
Gateway zone, which Route53 alias records need) and DomainNameStatus. This adds them to
DomainName.to_json, then runs moto.server.main with the arguments given (e.g. -H 127.0.0.1 -p PORT).
The hosted zone ids are those of AWS's published table of API Gateway regional endpoints
(https://docs.aws.amazon.com/general/latest/gr/apigateway.html, "Route 53 Hosted Zone ID"); a region
missing from it gets no HostedZoneId, so the deploy scripts fail on it as they would on plain moto.
"""
import hashlib
import json
import sys
import threading
from datetime import datetime
from urllib.parse import unquote

import moto.apigatewayv2.models as models
import moto.apigatewayv2.responses as responses
import moto.s3.models as s3_models
import moto.s3.responses as s3_responses
import moto.server
from moto.iam.access_control import IAMPolicyStatement, PermissionResult

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


# The three updates moto 5.2 lacks (it answers HTTP 500 NotImplementedError), so that deploy can change a
# stage, a domain's certificate and a mapping in place, as on AWS, never by delete-and-create (a re-made
# custom domain gets a new regional target on AWS: DNS would point nowhere until it caught up). Each
# changes only the fields given, as the API references say (API Gateway v2 UpdateStage, UpdateDomainName,
# UpdateApiMapping: PATCH, members optional); the regional target name above stays, as on AWS.
STAGE_FIELDS = {"autoDeploy": "auto_deploy", "defaultRouteSettings": "default_route_settings",
                "description": "description", "routeSettings": "route_settings",
                "stageVariables": "stage_variables", "accessLogSettings": "access_log_settings",
                "clientCertificateId": "client_certificate_id"}


def _update_stage(self):
    parts = self.path.split("/")
    stage = self.apigatewayv2_backend.get_stage(parts[-3], unquote(parts[-1]))
    for k, v in json.loads(self.body or "{}").items():
        if k in STAGE_FIELDS:
            setattr(stage, STAGE_FIELDS[k], v)
    stage.updated = datetime.now()
    return 200, {}, json.dumps(stage.to_json())


def _update_domain_name(self):
    domain = self.apigatewayv2_backend.get_domain_name(unquote(self.path.split("/")[-1]))
    params = json.loads(self.body or "{}")
    if "domainNameConfigurations" in params:
        domain.domain_name_configurations = params["domainNameConfigurations"]
    if "mutualTlsAuthentication" in params:
        domain.mutual_tls_authentication = params["mutualTlsAuthentication"]
    return 200, {}, json.dumps(domain.to_json())


def _update_api_mapping(self):
    parts = self.path.split("/")
    mapping = self.apigatewayv2_backend.get_api_mapping(api_mapping_id=parts[-1], domain_name=unquote(parts[-3]))
    params = json.loads(self.body or "{}")
    mapping.api_id = params.get("apiId", mapping.api_id)
    mapping.api_mapping_key = params.get("apiMappingKey", mapping.api_mapping_key)
    mapping.stage = params.get("stage", mapping.stage)
    return 200, {}, json.dumps(mapping.to_json())


responses.ApiGatewayV2Response.update_stage = _update_stage
responses.ApiGatewayV2Response.update_domain_name = _update_domain_name
responses.ApiGatewayV2Response.update_api_mapping = _update_api_mapping


# S3 bucket policies. moto 5.2.1 enforces a bucket policy's statements with Principal "*" but ignores
# their conditions, and a statement whose condition it cannot check counts as DENIED, whatever its
# Effect: one "Deny ... unless aws:SecureTransport" would refuse every request. Here a statement applies
# only when its conditions hold, for the two keys the deploy's bucket policies use:
#   aws:SecureTransport  "true": the test's plain-HTTP hop stands in for AWS's HTTPS endpoint (the aws
#                        CLI speaks HTTPS to AWS); NEARJS_MOTO_PLAIN_HTTP=1 makes it "false";
#   aws:PrincipalAccount the account of the request (the x-moto-account-id header, or moto's default).
# Operators Bool, StringEquals, StringNotEquals (and their IfExists forms). A statement with any other
# key or operator does not apply (moto could not say), so it neither allows nor denies.
_request = threading.local()
_plain_setup_class = s3_responses.S3Response.setup_class


def _setup_class(self, request, full_url, headers, *args, **kwargs):
    out = _plain_setup_class(self, request, full_url, headers, *args, **kwargs)
    _request.account = self.current_account
    return out


def _condition_holds(cond):
    import os
    facts = {"aws:securetransport": "false" if os.environ.get("NEARJS_MOTO_PLAIN_HTTP") == "1" else "true",
             "aws:principalaccount": getattr(_request, "account", None)}
    for op, pairs in (cond or {}).items():
        base = op[:-len("IfExists")] if op.endswith("IfExists") else op
        for key, want in pairs.items():
            have = facts.get(key.lower())
            if have is None:
                return False
            want = [str(w).lower() if base == "Bool" else str(w) for w in (want if isinstance(want, list) else [want])]
            if base in ("Bool", "StringEquals") and have not in want:
                return False
            if base == "StringNotEquals" and have in want:
                return False
            if base not in ("Bool", "StringEquals", "StringNotEquals"):
                return False
    return True


def _get_permission(self, action, resource):
    if self.policy is None:
        return PermissionResult.NEUTRAL
    doc = json.loads(self.policy.decode() if isinstance(self.policy, bytes) else self.policy)
    statements = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
    result = PermissionResult.NEUTRAL
    for st in statements:
        matcher = IAMPolicyStatement(st)
        principal = st.get("Principal")
        if principal not in ("*", {"AWS": "*"}):
            continue  # as moto: only statements for everyone are enforced
        if not matcher._check_element_matches("Action", action) or not matcher._check_element_matches("Resource", resource):
            continue
        if not _condition_holds(st.get("Condition")):
            continue
        if st.get("Effect") == "Deny":
            return PermissionResult.DENIED
        result = PermissionResult.PERMITTED
    return result


s3_responses.S3Response.setup_class = _setup_class
s3_models.FakeBucket.get_permission = _get_permission

if "--plain" in sys.argv:  # plain moto (the test that the scripts fail clearly without the fields)
    sys.argv.remove("--plain")
else:
    models.DomainName.to_json = _to_json
sys.argv[0] = "moto_server"
sys.exit(moto.server.main())
