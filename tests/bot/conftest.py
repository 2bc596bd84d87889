"""Bot fixtures: the real local stack (DynamoDB Local, the API under `chalice local`, the worker, the payment
webhook), the local Bot API server, and the bot handling updates in-process or polling."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from bot.settings import BotSettings
from infrastructure.local.botapi import LocalBotApi
from tests.bot.harness import ChatUser, Container, Delivery, WebhookContainer
from tests.conftest import free_port

WEBHOOK_SECRET = "test-webhook-secret_123"
_user_ids = itertools.count(7_000_001)


@pytest.fixture(scope="package")
def api_stack(dynamodb_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The API as `make run` serves it (LocalStack of infrastructure/local/run.py), on free ports, with its
    own table prefix in the session's DynamoDB Local. Package-scoped: LocalStack.start() changes os.environ
    and runs a worker and a scheduler in this process, which must not outlive the bot tests."""
    from chalicelib import bootstrap
    from infrastructure.local.run import LocalStack

    saved = dict(os.environ)
    ddb_port = int(dynamodb_endpoint.rsplit(":", 1)[1])
    port, pay_port, pki_port = free_port(), free_port(), free_port()
    smtp_port, mail_port = free_port(), free_port()
    prefix = f"b{uuid.uuid4().hex[:6]}-"
    os.environ.pop("TIMESTAMP_URL", None)  # derived from the PKI services' port below
    os.environ.update({"PORT": str(port), "DYNAMODB_PORT": str(ddb_port), "PAYMENT_SIMULATOR_PORT": str(pay_port),
                       "PKI_SERVICES_PORT": str(pki_port),
                       "DATA_DIR": str(tmp_path_factory.mktemp("bot-stack")), "TABLE_PREFIX": prefix,
                       "DYNAMODB_ENDPOINT": dynamodb_endpoint, "SMTP_PORT": str(smtp_port),
                       "MAIL_WEB_PORT": str(mail_port)})
    # The API's notices (the worker runs in this process) go to one Bot API server for the whole package, as
    # `make run` points them at its local chat; tests that read them use it as their `botapi`.
    pushes = LocalBotApi(port=0).start()
    os.environ.update({"TELEGRAM_BOT_TOKEN": pushes.token, "TELEGRAM_API_BASE_URL": pushes.base_url})
    stack = LocalStack(port=port, ddb_port=ddb_port, pay_port=pay_port, data_dir=None, in_memory=True,
                       pki_port=pki_port, smtp_port=smtp_port, mail_web_port=mail_port)
    try:
        stack.start()
        yield {"api_base_url": f"http://127.0.0.1:{port}", "table_prefix": prefix,
               "dynamodb_endpoint": dynamodb_endpoint, "pay_port": pay_port,
               "mail_url": stack.mail.web_url, "push_botapi": pushes}
    finally:
        stack.stop()
        pushes.stop()
        bootstrap.use(None)
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="package")
def conversations_table(api_stack: dict[str, Any]) -> str:
    from bot.state import ensure_table

    settings = BotSettings(table_prefix=api_stack["table_prefix"], dynamodb_endpoint=api_stack["dynamodb_endpoint"])
    ensure_table(settings)
    return settings.conversations_table


@pytest.fixture
def botapi() -> Iterator[LocalBotApi]:
    server = LocalBotApi(port=0).start()
    yield server
    server.stop()


@pytest.fixture
def bot_settings(api_stack: dict[str, Any], conversations_table: str, botapi: LocalBotApi) -> BotSettings:
    return BotSettings(token=botapi.token, telegram_api_base_url=botapi.base_url, webhook_secret=WEBHOOK_SECRET,
                       api_base_url=api_stack["api_base_url"], table_prefix=api_stack["table_prefix"],
                       dynamodb_endpoint=api_stack["dynamodb_endpoint"], api_timeout_seconds=20)


@pytest.fixture
def webhook_env(bot_settings: BotSettings, monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookContainer]:
    """bot/webhook.py configured from the environment, as in Lambda; its module-level Application is reset."""
    from bot import webhook

    webhook.reset()
    for name, value in {"TELEGRAM_BOT_TOKEN": bot_settings.token,
                        "TELEGRAM_API_BASE_URL": bot_settings.telegram_api_base_url,
                        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET, "API_BASE_URL": bot_settings.api_base_url,
                        "TABLE_PREFIX": bot_settings.table_prefix,
                        "DYNAMODB_ENDPOINT": str(bot_settings.dynamodb_endpoint)}.items():
        monkeypatch.setenv(name, value)
    yield WebhookContainer(WEBHOOK_SECRET)
    webhook.reset()


@pytest.fixture
def delivery(botapi: LocalBotApi, webhook_env: WebhookContainer) -> Iterator[Delivery]:
    """Updates go from the local server to the webhook handler, one at a time, synchronously."""
    deliver = Delivery(botapi, webhook_env)
    yield deliver
    deliver.close()


@pytest.fixture
def make_user(botapi: LocalBotApi, delivery: Delivery) -> Iterator[Any]:
    users: list[ChatUser] = []

    def make(language_code: str = "es", first_name: str = "Ana") -> ChatUser:
        user = ChatUser(botapi, next(_user_ids), language_code=language_code, first_name=first_name,
                        deliver=delivery)
        users.append(user)
        return user

    yield make
    for user in users:
        user.close()


@pytest.fixture
def person(make_user: Any) -> ChatUser:
    return make_user()


@pytest.fixture
def second_container(bot_settings: BotSettings) -> Iterator[Container]:
    container = Container(bot_settings)
    yield container
    container.close()


@pytest.fixture
def new_user_id() -> Any:
    return lambda: next(_user_ids)
