"""`make set-webhook`: store the bot token (optional) and point Telegram's webhook at the deployed bot function.

Reads the stack's outputs (function URL, secret ARNs), sends Telegram `setWebhook` with the URL and the secret
token that bot.webhook checks, sets the command menu in Spanish and English, and, when the token changed,
restarts the functions that had read the old one. `--rotate-secret-token` (make set-webhook ROTATE=1) rolls the
webhook's secret token over: stored, functions restarted (the bot then accepts the new and the previous one), then
sent to Telegram.
Neither the token nor the secret token is ever printed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.error
import urllib.request
from typing import Any

PLACEHOLDER = "unset"
TOKEN = re.compile(r"[0-9]{5,16}:[A-Za-z0-9_-]{30,}")
DEFAULT_API = "https://api.telegram.org"


def stack_outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def store_token(secretsmanager: Any, secret_arn: str, token: str) -> bool:
    """Put the token in its secret; True when it changed (then warm functions hold the old one)."""
    if not TOKEN.fullmatch(token):
        raise SystemExit("TELEGRAM_BOT_TOKEN does not look like a token from @BotFather (digits:letters)")
    current = secretsmanager.get_secret_value(SecretId=secret_arn)["SecretString"].strip()
    if current == token:
        return False
    secretsmanager.put_secret_value(SecretId=secret_arn, SecretString=token)
    return True


def telegram(api_base: str, token: str, method: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(f"{api_base.rstrip('/')}/bot{token}/{method}", method="POST",
                                     data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:  # noqa: S310 - Telegram's API or a test server
            result: dict[str, Any] = json.loads(answer.read())
    except urllib.error.HTTPError as error:
        result = json.loads(error.read() or b"{}")
    if not result.get("ok"):
        # The description is Telegram's own ("Unauthorized", "bad webhook: ..."): safe to show, no token in it.
        raise SystemExit(f"Telegram refused {method}: {result.get('description', 'no reason given')}")
    return result


def set_webhook(api_base: str, token: str, url: str, secret_token: str) -> dict[str, Any]:
    """setWebhook with the secret token Telegram will send in X-Telegram-Bot-Api-Secret-Token; then its info."""
    if not url.startswith("https://"):
        raise SystemExit("Telegram only calls https:// webhooks")
    telegram(api_base, token, "setWebhook", {"url": url, "secret_token": secret_token,
                                             "drop_pending_updates": False})
    info: dict[str, Any] = telegram(api_base, token, "getWebhookInfo", {})["result"]
    return info


def set_commands(api_base: str, token: str) -> list[str | None]:
    """The "/" menu in both languages (bot/commands.py, texts from the bot's catalogues): a webhook bot never
    polls, so this is where it gets its menu. Returns the language codes set (None: the default, Spanish)."""
    from bot.commands import menus

    done = []
    for language_code, commands in menus():
        body: dict[str, Any] = {"commands": commands, "scope": {"type": "default"}}
        if language_code:
            body["language_code"] = language_code
        telegram(api_base, token, "setMyCommands", body)
        done.append(language_code)
    return done


def recycle_functions(cloudformation: Any, lambda_: Any, stack: str, revision: str) -> list[str]:
    """Give every function of the stack a new SECRETS_REVISION so no warm container keeps the old token."""
    names = []
    paginator = cloudformation.get_paginator("list_stack_resources")
    for page in paginator.paginate(StackName=stack):
        for resource in page["StackResourceSummaries"]:
            if resource["ResourceType"] == "AWS::Lambda::Function":
                names.append(resource["PhysicalResourceId"])
    for name in names:
        variables = lambda_.get_function_configuration(FunctionName=name).get("Environment", {}).get("Variables", {})
        lambda_.update_function_configuration(
            FunctionName=name, Environment={"Variables": {**variables, "SECRETS_REVISION": revision}})
    return names


def rotate_secret_token(secrets: Any, secret_arn: str) -> str:
    """A new secret token in its secret: the old one becomes AWSPREVIOUS, which the bot still accepts until the
    next rotation (Telegram's calls already on their way carry it). Returns the new token (never printed)."""
    from infrastructure.rotation.handler import new_value

    token = new_value()  # letters and digits: within Telegram's alphabet for secret_token
    secrets.put_secret_value(SecretId=secret_arn, SecretString=token)
    return token


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default=os.environ.get("STAGE") or "dev")
    parser.add_argument("--rotate-secret-token", action="store_true",
                        help="store a new webhook secret token and send it to Telegram (the old one stays valid)")
    arguments = parser.parse_args(argv)
    import boto3

    stack = f"antecedentes-{arguments.stage}"
    session = boto3.session.Session()
    cloudformation, secrets = session.client("cloudformation"), session.client("secretsmanager")
    outputs = stack_outputs(cloudformation, stack)
    changed = False
    if os.environ.get("TELEGRAM_BOT_TOKEN"):
        changed = store_token(secrets, outputs["BotTokenSecretArn"], os.environ["TELEGRAM_BOT_TOKEN"].strip())
        print("bot token stored in Secrets Manager" if changed else "bot token unchanged")
    token = secrets.get_secret_value(SecretId=outputs["BotTokenSecretArn"])["SecretString"].strip()
    if token in ("", PLACEHOLDER):
        print("No bot token yet: run `make set-webhook STAGE=... TELEGRAM_BOT_TOKEN=<token from @BotFather>`",
              file=sys.stderr)
        return 2
    if arguments.rotate_secret_token:
        # New token stored, then every function restarted (the bot then accepts both), then Telegram told.
        rotate_secret_token(secrets, outputs["BotWebhookSecretArn"])
        changed = True
        print("webhook secret token rotated in Secrets Manager")
    if changed:
        revision = secrets.describe_secret(SecretId=outputs["BotTokenSecretArn"]).get("VersionIdsToStages", {})
        current = next((v for v, stages in revision.items() if "AWSCURRENT" in stages), "new")
        hook = secrets.describe_secret(SecretId=outputs["BotWebhookSecretArn"]).get("VersionIdsToStages", {})
        current += "/" + next((v for v, stages in hook.items() if "AWSCURRENT" in stages), "new")
        functions = session.client("lambda")
        restarted = recycle_functions(cloudformation, functions, stack, current)
        for name in restarted:  # Telegram hears of a new secret token only once every function can check it
            functions.get_waiter("function_updated_v2").wait(FunctionName=name)
        print(f"restarted {len(restarted)} functions so that they read the new secrets")
    secret_token = secrets.get_secret_value(SecretId=outputs["BotWebhookSecretArn"],
                                            VersionStage="AWSCURRENT")["SecretString"].strip()
    info = set_webhook(os.environ.get("TELEGRAM_API_BASE_URL") or DEFAULT_API, token, outputs["BotWebhookUrl"],
                       secret_token)
    print(f"webhook: {info.get('url')} (pending updates: {info.get('pending_update_count', 0)})")
    languages = set_commands(os.environ.get("TELEGRAM_API_BASE_URL") or DEFAULT_API, token)
    print(f"command menu set: {', '.join(code or 'default (es)' for code in languages)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
