"""The AWS CDK app that deploys the whole system: tables, bucket, keys, secrets, the API, the bot, alarms."""
