"""The realism layer's behaviours of issue 17: what AWS does and moto 5.2 does not.

Each is a switch of its own (realism.py --on NAME); tests/deploy/README.md has the table with the
sources. Times are seconds (floats allowed).
"""
import base64
import time
import xml.etree.ElementTree as ET

import realism
from realism import Behaviour, Response, behaviour, strip_ns, xml_find


def _pem_count(b64):
    try:
        raw = base64.b64decode(b64 or "")
    except ValueError:
        return 0
    return raw.count(b"-----BEGIN CERTIFICATE-----")


@behaviour("iam-propagation", delay=10.0)
class IamPropagation(Behaviour):
    """For `delay` s after CreateRole / AttachRolePolicy / PutRolePolicy on a role, Lambda CreateFunction
    and UpdateFunctionConfiguration naming it are refused; for `delay` s after CreateInstanceProfile /
    AddRoleToInstanceProfile, RunInstances naming the profile is refused."""

    def __init__(self, layer, params):
        super().__init__(layer, params)
        self.roles, self.profiles = {}, {}

    def _fresh(self, table, name):
        with self.lock:
            t = table.get(name)
        return t is not None and time.time() - t < float(self.p["delay"])

    def before(self, call):
        if call.service == "lambda" and call.op in ("CreateFunction", "UpdateFunctionConfiguration"):
            role = call.json().get("Role")
            if role and self._fresh(self.roles, role.rsplit("/", 1)[-1]):
                return call.error(400, "InvalidParameterValueException",
                                  "The role defined for the function cannot be assumed by Lambda.")
        if call.service == "ec2" and call.op == "RunInstances":
            f = call.form()
            name = f.get("IamInstanceProfile.Name") or (f.get("IamInstanceProfile.Arn") or "").rsplit("/", 1)[-1]
            if name and self._fresh(self.profiles, name):
                return call.error(400, "InvalidParameterValue",
                                  "Value (%s) for parameter iamInstanceProfile.name is invalid. "
                                  "Invalid IAM Instance Profile name" % name)
        return None

    def after(self, call, resp):
        if call.service == "iam" and resp.ok:
            f = call.form()
            with self.lock:
                if call.op in ("CreateRole", "AttachRolePolicy", "PutRolePolicy") and f.get("RoleName"):
                    self.roles[f["RoleName"]] = time.time()
                if call.op in ("CreateInstanceProfile", "AddRoleToInstanceProfile") and f.get("InstanceProfileName"):
                    self.profiles[f["InstanceProfileName"]] = time.time()
        return resp


@behaviour("acm-one-certificate")
class AcmOneCertificate(Behaviour):
    """ImportCertificate with more than one certificate in Certificate: ValidationException."""

    def before(self, call):
        if call.service == "acm" and call.op == "ImportCertificate" and _pem_count(call.json().get("Certificate")) > 1:
            return call.error(400, "ValidationException", "The certificate field contains more than one certificate. "
                              "You can specify only one certificate in this field.")
        return None


DEFAULT_KEY_TYPES = ("RSA_1024", "RSA_2048")


@behaviour("acm-key-types")
class AcmKeyTypes(Behaviour):
    """ListCertificates without Includes.keyTypes answers only RSA_1024 and RSA_2048 certificates
    (moto answers all)."""

    def after(self, call, resp):
        if call.service != "acm" or call.op != "ListCertificates" or not resp.ok:
            return resp
        if (call.json().get("Includes") or {}).get("keyTypes"):
            return resp  # moto filters on them itself
        body = resp.json() or {}
        acm = self.layer.moto("acm", call.region)
        keep = []
        for c in body.get("CertificateSummaryList", []):
            algo = c.get("KeyAlgorithm")
            if not algo:
                try:
                    algo = acm.describe_certificate(CertificateArn=c["CertificateArn"])["Certificate"]["KeyAlgorithm"]
                except Exception:
                    algo = None
            if algo in DEFAULT_KEY_TYPES:
                keep.append(c)
        body["CertificateSummaryList"] = keep
        return Response(resp.status, resp.headers, b"").with_json(body)


@behaviour("cert-in-use", linger=5.0)
class CertInUse(Behaviour):
    """DeleteCertificate: ResourceInUseException while an API Gateway custom domain of the region uses
    the certificate, and for `linger` s after the last such domain is deleted or moved off it."""

    def __init__(self, layer, params):
        super().__init__(layer, params)
        self.released = {}  # arn -> time the last domain let go

    def _domain_certs(self, region, name=None):
        api = self.layer.moto("apigatewayv2", region)
        out = {}
        items = [api.get_domain_name(DomainName=name)] if name else api.get_domain_names().get("Items", [])
        for d in items:
            for c in d.get("DomainNameConfigurations") or []:
                if c.get("CertificateArn"):
                    out.setdefault(c["CertificateArn"], []).append(d["DomainName"])
        return out

    def before(self, call):
        if call.service == "apigatewayv2" and call.op in ("DeleteDomainName", "UpdateDomainName"):
            try:
                call.cert_before = self._domain_certs(call.region, call.path_params.get("DomainName"))
            except Exception:
                call.cert_before = {}
        if call.service == "acm" and call.op == "DeleteCertificate":
            arn = call.json().get("CertificateArn")
            users = self._domain_certs(call.region).get(arn)
            with self.lock:
                t = self.released.get(arn)
            if users or (t is not None and time.time() - t < float(self.p["linger"])):
                return call.error(400, "ResourceInUseException",
                                  "Certificate %s in account 123456789012 is in use." % arn)
        return None

    def after(self, call, resp):
        if resp.ok and getattr(call, "cert_before", None):
            now = self._domain_certs(call.region)
            with self.lock:
                for arn in call.cert_before:
                    if arn not in now:
                        self.released[arn] = time.time()
        return resp


@behaviour("mapped-api")
class MappedApi(Behaviour):
    """DeleteApi: BadRequestException while an API mapping of a custom domain points at the API."""

    def before(self, call):
        if call.service != "apigatewayv2" or call.op != "DeleteApi":
            return None
        api_id = call.path_params.get("ApiId")
        api = self.layer.moto("apigatewayv2", call.region)
        for d in api.get_domain_names().get("Items", []):
            for m in api.get_api_mappings(DomainName=d["DomainName"]).get("Items", []):
                if m.get("ApiId") == api_id:
                    return call.error(400, "BadRequestException", "Deleting API %s failed. Please remove all API "
                                      "mappings for the API from your custom domain names." % api_id)
        return None


# What each service answers when it throttles (its API reference's common errors).
THROTTLE = {
    "lambda": (429, "TooManyRequestsException", "Rate exceeded"),
    "apigatewayv2": (429, "TooManyRequestsException", "Too Many Requests"),
    "acm": (400, "ThrottlingException", "Rate exceeded"),
    "ssm": (400, "ThrottlingException", "Rate exceeded"),
    "logs": (400, "ThrottlingException", "Rate exceeded"),
    "iam": (400, "Throttling", "Rate exceeded"),
    "route53": (400, "Throttling", "Rate exceeded"),
    "ec2": (503, "RequestLimitExceeded", "Request limit exceeded."),
    "s3": (503, "SlowDown", "Please reduce your request rate."),
    "service-quotas": (400, "TooManyRequestsException", "Rate exceeded"),
}


@behaviour("throttle-first")
class ThrottleFirst(Behaviour):
    """The first call of each operation in each region gets its service's throttling error."""

    def __init__(self, layer, params):
        super().__init__(layer, params)
        self.seen = set()

    def before(self, call):
        key = (call.region, call.service, call.op)
        with self.lock:
            if key in self.seen:
                return None
            self.seen.add(key)
        status, code, msg = THROTTLE.get(call.service, (400, "Throttling", "Rate exceeded"))
        return call.error(status, code, msg)


def _canon(el):
    """A HealthCheckConfig element as a comparable value (tags without namespace, sorted children)."""
    if el is None:
        return None
    return (strip_ns(el.tag), (el.text or "").strip(), tuple(sorted(_canon(c) for c in el)))


@behaviour("health-check-reference")
class HealthCheckReference(Behaviour):
    """CreateHealthCheck with a CallerReference used before: the existing check when it still exists with
    the same settings; HealthCheckAlreadyExists when the settings differ or the check was deleted."""

    def __init__(self, layer, params):
        super().__init__(layer, params)
        self.refs = {}  # CallerReference -> (health check id, canonical config)

    def before(self, call):
        if call.service != "route53" or call.op != "CreateHealthCheck":
            return None
        root = call.xml()
        ref_el = xml_find(root, "CallerReference")
        ref = (ref_el.text or "").strip() if ref_el is not None else ""
        with self.lock:
            known = self.refs.get(ref)
        if not known:
            call.hc_ref = ref
            call.hc_conf = _canon(xml_find(root, "HealthCheckConfig"))
            return None
        hc_id, conf = known
        r53 = self.layer.moto("route53")
        try:
            r53.get_health_check(HealthCheckId=hc_id)
            exists = True
        except r53.exceptions.NoSuchHealthCheck:
            exists = False
        if exists and conf == _canon(xml_find(root, "HealthCheckConfig")):
            # The existing check, as moto's GetHealthCheck has it, in a CreateHealthCheck answer.
            got = self.layer.forward_get(call, "/2013-04-01/healthcheck/%s" % hc_id)
            doc = got.xml()
            if doc is not None:
                doc.tag = doc.tag.replace("GetHealthCheckResponse", "CreateHealthCheckResponse")
                return Response(201, [("Content-Type", "text/xml"),
                                      ("Location", "https://route53.amazonaws.com/2013-04-01/healthcheck/" + hc_id)],
                                ET.tostring(doc))
        return call.error(409, "HealthCheckAlreadyExists",
                          "A health check with the caller reference %s already exists%s." %
                          (ref, "" if exists else " (it was deleted)"))

    def after(self, call, resp):
        if getattr(call, "hc_ref", None) and resp.status in (200, 201):
            hc = xml_find(resp.xml(), "Id")
            if hc is not None:
                with self.lock:
                    self.refs[call.hc_ref] = (hc.text.strip(), call.hc_conf)
        return resp


@behaviour("reimport-keeps-tags")
class ReimportKeepsTags(Behaviour):
    """ImportCertificate with a CertificateArn (a re-import) keeps the certificate's tags (moto drops them),
    and one that passes Tags is refused."""

    def before(self, call):
        if call.service != "acm" or call.op != "ImportCertificate":
            return None
        body = call.json()
        arn = body.get("CertificateArn")
        if not arn:
            return None
        if body.get("Tags"):
            return call.error(400, "ValidationException", "Tagging is not permitted on re-import.")
        try:
            call.kept_tags = self.layer.moto("acm", call.region).list_tags_for_certificate(CertificateArn=arn)["Tags"]
        except Exception:
            call.kept_tags = None
        return None

    def after(self, call, resp):
        tags = getattr(call, "kept_tags", None)
        if tags and resp.ok:
            self.layer.moto("acm", call.region).add_tags_to_certificate(CertificateArn=call.json()["CertificateArn"],
                                                                        Tags=tags)
        return resp


@behaviour("reimport-key-type")
class ReimportKeyType(Behaviour):
    """A re-import whose key type differs from the certificate's (RSA_2048 -> EC_prime256v1, ...): refused."""

    def before(self, call):
        if call.service != "acm" or call.op != "ImportCertificate":
            return None
        body = call.json()
        arn = body.get("CertificateArn")
        if not arn:
            return None
        try:
            have = self.layer.moto("acm", call.region).describe_certificate(CertificateArn=arn)["Certificate"]["KeyAlgorithm"]
        except Exception:
            return None
        want = key_algorithm(base64.b64decode(body.get("Certificate", "")))
        if want and have and want != have:
            return call.error(400, "ValidationException", "The certificate you are importing has key type %s; the "
                              "certificate %s has %s. The key type and size cannot be changed on re-import." %
                              (want, arn, have))
        return None


def key_algorithm(pem):
    """ACM's name for the key of the first certificate in PEM (RSA_2048, EC_prime256v1, ...), or None."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric import ec, rsa
        key = x509.load_pem_x509_certificate(pem).public_key()
    except Exception:
        return None
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA_%d" % key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return {"secp256r1": "EC_prime256v1", "secp384r1": "EC_secp384r1",
                "secp521r1": "EC_secp521r1"}.get(key.curve.name, "EC_" + key.curve.name)
    return None


@behaviour("log-params")
class LogParams(Behaviour):
    """Not an AWS behaviour: adds each write's request parameters to its call-log line ("params": the
    form of IAM/EC2 calls, the JSON body of JSON and REST-JSON ones; values cut at 200 characters), so a
    test can check what was asked for where moto drops it (RunInstances' CreditSpecification)."""

    def before(self, call):
        if call.write:
            raw = call.form() if call.protocol in ("query", "ec2") else (
                call.json() if call.protocol in ("json", "rest-json") else {})
            call.log_extra["params"] = {k: (v[:200] if isinstance(v, str) else v) for k, v in (raw or {}).items()}
        return None


@behaviour("address-in-dns")
class AddressInDns(Behaviour):
    """Not an AWS behaviour (AWS lets you): an invariant check. ReleaseAddress while a Route53 record or
    health check still names the address adds "violation" to its call-log line: a released address can
    be allocated by another account at once, and DNS would then send our name to it."""

    def before(self, call):
        if call.service != "ec2" or call.op != "ReleaseAddress":
            return None
        alloc = call.form().get("AllocationId")
        try:
            ips = [a["PublicIp"] for a in self.layer.moto("ec2", call.region).describe_addresses(
                AllocationIds=[alloc])["Addresses"]]
        except Exception:
            return None
        r53 = self.layer.moto("route53")
        names = []
        for z in r53.list_hosted_zones()["HostedZones"]:
            for rec in r53.list_resource_record_sets(HostedZoneId=z["Id"])["ResourceRecordSets"]:
                if any(v.get("Value") in ips for v in rec.get("ResourceRecords", [])):
                    names.append("record %s %s" % (rec["Name"], rec.get("SetIdentifier", "")))
        for h in r53.list_health_checks()["HealthChecks"]:
            if h["HealthCheckConfig"].get("IPAddress") in ips:
                names.append("health check %s" % h["Id"])
        if names:
            call.log_extra["violation"] = "released %s while named by %s" % (", ".join(ips), "; ".join(names))
        return None


# Every deploy and fleet test faces these (realism.py --on default). Each fix of issue 17 adds the
# behaviour it handles here, so that every test faces it from then on.
realism.PROFILES["default"] += ["iam-propagation:delay=2", "acm-one-certificate", "acm-key-types",
                                "cert-in-use:linger=2", "mapped-api", "health-check-reference",
                                "reimport-keeps-tags", "reimport-key-type", "address-in-dns"]
