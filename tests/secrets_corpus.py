"""Secrets in many formats, generated with random bodies at test time (none is real)."""

from __future__ import annotations

import random
import string
from collections.abc import Callable

UP = string.ascii_uppercase
LOW = string.ascii_lowercase
DIG = string.digits
ALNUM = UP + LOW + DIG
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "_-"


def _r(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


# rule id -> function making one secret from a random generator
MAKERS: dict[str, Callable[[random.Random], str]] = {
    "aws-access-key-id": lambda r: "AKIA" + _r(r, UP + DIG, 16),
    "aws-secret-access-key": lambda r: "aws_secret_access_key = " + _r(r, B64, 40),
    "github-token": lambda r: r.choice(["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]) + _r(r, ALNUM, 36),
    "github-fine-grained-token": lambda r: "github_pat_" + _r(r, ALNUM + "_", 82),
    "gitlab-token": lambda r: "glpat-" + _r(r, ALNUM + "_-", 20),
    "slack-token": lambda r: (
        "xoxb-" + _r(r, DIG, 12) + "-" + _r(r, DIG, 12) + "-" + _r(r, ALNUM, 24)
    ),
    "slack-webhook": lambda r: (
        "https://hooks.slack.com/services/T"
        + _r(r, UP + DIG, 8)
        + "/B"
        + _r(r, UP + DIG, 8)
        + "/"
        + _r(r, ALNUM, 24)
    ),
    "stripe-key": lambda r: r.choice(["sk_live_", "rk_live_", "sk_test_"]) + _r(r, ALNUM, 24),
    "anthropic-api-key": lambda r: "sk-ant-api03-" + _r(r, URLSAFE, 93) + "AA",
    "openai-api-key": lambda r: r.choice(
        ["sk-proj-" + _r(r, URLSAFE, 48), "sk-" + _r(r, ALNUM, 20) + "T3BlbkFJ" + _r(r, ALNUM, 20)]
    ),
    "google-api-key": lambda r: "AIza" + _r(r, URLSAFE, 35),
    "npm-token": lambda r: "npm_" + _r(r, ALNUM, 36),
    "pypi-token": lambda r: "pypi-AgEIcHlwaS5vcmc" + _r(r, URLSAFE, 60),
    "huggingface-token": lambda r: "hf_" + _r(r, UP + LOW, 34),
    "sendgrid-api-key": lambda r: "SG." + _r(r, URLSAFE, 22) + "." + _r(r, URLSAFE, 43),
    "twilio-api-key": lambda r: "SK" + _r(r, HEX, 32),
    "shopify-token": lambda r: "shpat_" + _r(r, HEX, 32),
    "digitalocean-token": lambda r: "dop_v1_" + _r(r, HEX, 64),
    "hashicorp-vault-token": lambda r: "hvs." + _r(r, URLSAFE, 90),
    "databricks-token": lambda r: "dapi" + _r(r, HEX, 32),
    "linear-api-key": lambda r: "lin_api_" + _r(r, ALNUM, 40),
    "telegram-bot-token": lambda r: _r(r, DIG, 10) + ":AA" + _r(r, URLSAFE, 33),
    "age-secret-key": lambda r: "AGE-SECRET-KEY-1" + _r(r, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58),
    "azure-storage-key": lambda r: (
        "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey="
        + _r(r, B64, 86)
        + "==;EndpointSuffix=core.windows.net"
    ),
    "jwt": lambda r: (
        "eyJ" + _r(r, URLSAFE, 30) + ".eyJ" + _r(r, URLSAFE, 60) + "." + _r(r, URLSAFE, 43)
    ),
    "private-key": lambda r: (
        "-----BEGIN RSA PRIVATE KEY-----\n"
        + "\n".join(_r(r, B64, 64) for _ in range(4))
        + "\n-----END RSA PRIVATE KEY-----"
    ),
    "url-credentials": lambda r: (
        "https://deploy:" + _r(r, ALNUM, 16) + "@git.example.com/acme/x.git"
    ),
    "bearer-token": lambda r: "Authorization: Bearer " + _r(r, ALNUM + "._-", 40),
    "secret-assignment": lambda r: (
        r.choice(["password", "api_key", "client_secret", "token"]) + "=" + _r(r, ALNUM, 18)
    ),
}


# The part of each made string that is the secret itself (what must never survive).
def secret_part(rule: str, made: str) -> str:
    if rule == "aws-secret-access-key":
        return made.split(" = ", 1)[1]
    if rule == "azure-storage-key":
        return made.split("AccountKey=", 1)[1].split(";", 1)[0]
    if rule == "url-credentials":
        return made.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    if rule == "bearer-token":
        return made.rsplit(" ", 1)[1]
    if rule == "secret-assignment":
        return made.split("=", 1)[1]
    if rule == "private-key":
        return made.splitlines()[1]
    return made


# Things that look a little like secrets and must survive untouched.
NOT_SECRETS = [
    "123e4567-e89b-12d3-a456-426614174000",  # a UUID
    "4b825dc642cb6eb9a060e54bf8d69288fbee4904",  # a git SHA
    "AKIAIOSFODNN7EXAMPLE",  # AWS's documented example access key id
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",  # ...and secret key
    "token_budget: 32000",
    "tokens: 21877",
    "the password policy requires rotation",
    "sk-learn is not a key",
    "https://github.com/acme/payments.git",
    "git@github.com:acme/payments.git",
    "sha256:469b21c65588b94a6be1c59e724b625bc1602ae0ffecbac7a6201b30a14ce002",
    "ghp_short",
    "Bearer of bad news",
]
