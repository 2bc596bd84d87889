"""The bucket's side of imports through a presigned upload (issue 16): CORS for the console's origin only (POST,
nothing else), the uploads' one-day expiry, and a bucket policy under which only the API's role writes uploads/."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match

from .conftest import Synthesised


def _bucket(synth: Synthesised) -> dict[str, Any]:
    buckets = [r for r in synth.of_type("AWS::S3::Bucket").values() if "CorsConfiguration" in r["Properties"]]
    assert len(buckets) == 1
    return dict(buckets[0]["Properties"])


def test_the_console_origin_alone_may_post_to_the_bucket(prod: Synthesised, dev: Synthesised) -> None:
    rules = _bucket(prod)["CorsConfiguration"]["CorsRules"]
    assert rules == [{"AllowedMethods": ["POST"], "AllowedOrigins": ["https://antecedentes.example.pe"],
                      "MaxAge": 600}]
    dev_rules = _bucket(dev)["CorsConfiguration"]["CorsRules"]  # no public_base_url: the region's API hosts
    assert dev_rules[0]["AllowedMethods"] == ["POST"] and "Fn::Join" in dev_rules[0]["AllowedOrigins"][0]
    assert "https://*.execute-api." in dev_rules[0]["AllowedOrigins"][0]["Fn::Join"][1][0]


def test_uploads_expire_after_a_day(prod: Synthesised) -> None:
    rules = _bucket(prod)["LifecycleConfiguration"]["Rules"]
    uploads = [r for r in rules if r.get("Prefix") == "uploads/"]
    assert len(uploads) == 1 and uploads[0]["ExpirationInDays"] == 1 and uploads[0]["Status"] == "Enabled"


def test_only_the_api_role_writes_uploads(prod: Synthesised) -> None:
    statement = Match.object_like({
        "Sid": "ImportUploadsOnlyThroughTheApi", "Effect": "Deny", "Action": "s3:PutObject",
        "Principal": {"AWS": "*"},
        "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": [Match.any_value(), "Arn"]}, "/uploads/*"]]},
        "Condition": {"ArnNotEquals": {"aws:PrincipalArn": {"Fn::GetAtt": [Match.any_value(), "Arn"]}}}})
    prod.assertions().has_resource_properties("AWS::S3::BucketPolicy", {
        "PolicyDocument": {"Statement": Match.array_with([statement])}})
    policy = next(r for r in prod.of_type("AWS::S3::BucketPolicy").values()
                  if any(s.get("Sid") == "ImportUploadsOnlyThroughTheApi"
                         for s in r["Properties"]["PolicyDocument"]["Statement"]))
    deny = next(s for s in policy["Properties"]["PolicyDocument"]["Statement"]
                if s.get("Sid") == "ImportUploadsOnlyThroughTheApi")
    role = deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]["Fn::GetAtt"][0]
    assert prod.resources[role]["Type"] == "AWS::IAM::Role"
    assert prod.resources[role]["Properties"]["Description"].endswith("Chalice api functions"), role
