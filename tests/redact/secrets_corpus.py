"""Our own secrets corpus, written from each provider's documented token format.

Every rule has samples (templates, realistic context included) and near misses. In a template
``«...»`` marks the secret, and ``{kind:n}`` is filled with n random characters of a kind (none
is a real credential):

    A  letters and digits      a  lower-case letters and digits   U  upper-case and digits
    h  lower-case hex          H  upper-case hex                  d  digits
    l  lower-case letters      L  letters                         u  URL-safe base64 (A, _ -)
    b  base64 (A + /)          z  base32 (a-z 2-7)                B  bech32, upper case
    c  crypt (A . /)           {uuid}  a random UUID
    {gh}  30 random letters and digits and their CRC32 in base62 (GitHub's and npm's format)
    {macaroon}  a version 2 macaroon for a private index, URL-safe base64 (PyPI's format)
    {snowflake}  a Discord account id (17 to 19 digits) in base64 without padding
"""

from __future__ import annotations

import base64
import random
import re
import string
import uuid
import zlib

KINDS = {
    "A": string.ascii_letters + string.digits,
    "a": string.ascii_lowercase + string.digits,
    "U": string.ascii_uppercase + string.digits,
    "h": "0123456789abcdef",
    "H": "0123456789ABCDEF",
    "d": string.digits,
    "l": string.ascii_lowercase,
    "L": string.ascii_letters,
    "u": string.ascii_letters + string.digits + "_-",
    "b": string.ascii_letters + string.digits + "+/",
    "z": "abcdefghijklmnopqrstuvwxyz234567",
    "B": "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L",
    "c": string.ascii_letters + string.digits + "./",
}
_FIELD = re.compile(r"\{([AaUhHdlLubzBc]):(\d+)\}|\{uuid\}|\{gh\}|\{macaroon\}|\{snowflake\}")
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def _checksummed(rng: random.Random) -> str:
    body = "".join(rng.choice(_BASE62) for _ in range(30))
    value, digits = zlib.crc32(body.encode()), ""
    while value:
        value, rest = divmod(value, 62)
        digits = _BASE62[rest] + digits
    return body + digits.rjust(6, "0")


def _macaroon(rng: random.Random) -> str:
    location = b"pkgs.acme.internal"
    raw = bytes([2, 1, len(location)]) + location + bytes([2, 32]) + rng.randbytes(32)
    raw += bytes([0, 6, 32]) + rng.randbytes(32) + bytes([0])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def fill(template: str, rng: random.Random) -> tuple[str, list[str]]:
    """The text a template makes, and the secrets in it (the «» parts, filled)."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "{uuid}":
            return str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if match.group(0) == "{gh}":
            return _checksummed(rng)
        if match.group(0) == "{macaroon}":
            return _macaroon(rng)
        if match.group(0) == "{snowflake}":
            size = rng.choice((17, 18, 19))
            digits = str(rng.randrange(10 ** (size - 1), 10**size))
            return base64.b64encode(digits.encode()).decode().rstrip("=")
        alphabet, count = KINDS[match.group(1)], int(match.group(2))
        # a random body never starts or ends with '-' or '_' (a provider's would, rarely)
        body = [rng.choice(alphabet) for _ in range(count)]
        for i in (0, count - 1):
            while body[i] in "-_":
                body[i] = rng.choice(string.ascii_letters)
        return "".join(body)

    text = _FIELD.sub(one, template)
    secrets = re.findall(r"«(.*?)»", text, re.S)
    return text.replace("«", "").replace("»", ""), secrets


PEM_BODY = "\n".join(["{b:64}"] * 5) + "\n{b:40}=="
# rule id -> (samples, near misses)
CASES: dict[str, tuple[list[str], list[str]]] = {
    "private-key": (
        [
            "«-----BEGIN RSA PRIVATE KEY-----\n" + PEM_BODY + "\n-----END RSA PRIVATE KEY-----»",
            "«-----BEGIN PRIVATE KEY-----\n" + PEM_BODY + "\n-----END PRIVATE KEY-----»",
            "«-----BEGIN EC PRIVATE KEY-----\n" + PEM_BODY + "\n-----END EC PRIVATE KEY-----»",
            "«-----BEGIN OPENSSH PRIVATE KEY-----\n"
            + PEM_BODY
            + "\n-----END OPENSSH PRIVATE KEY-----»",
            "«-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
            + PEM_BODY
            + "\n-----END ENCRYPTED PRIVATE KEY-----»",
            "«-----BEGIN DSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,{H:32}\n\n"
            + PEM_BODY
            + "\n-----END DSA PRIVATE KEY-----»",
            "«-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\n"
            + PEM_BODY
            + "\n={b:4}\n-----END PGP PRIVATE KEY BLOCK-----»",
            '{"type": "service_account", "private_key": "«-----BEGIN PRIVATE KEY-----\\n{b:64}\\n{b:64}\\n{b:20}==\\n-----END PRIVATE KEY-----\\n»"}',
            '"«-----BEGIN RSA PRIVATE KEY-----\\n" +\n"MIICXQIBAAKBgQ{b:50}\\n" +\n"{b:64}\\n" +\n"{b:20}==\\n" +\n"-----END RSA PRIVATE KEY-----»"',
            "#6 0.245 «-----BEGIN OPENSSH PRIVATE KEY-----\n#6 0.245 {b:70}\n#6 0.246 {b:70}\n#6 0.246 {b:30}\n#6 0.246 -----END OPENSSH PRIVATE KEY-----»",
            "2026-11-02T03:00:00Z INFO «-----BEGIN PRIVATE KEY-----\n2026-11-02T03:00:00Z INFO {b:64}\n2026-11-02T03:00:00Z INFO {b:64}\n2026-11-02T03:00:00Z INFO -----END PRIVATE KEY-----»",
            "/**\n * «-----BEGIN EC PRIVATE KEY-----\n * {b:64}\n * {b:54}==\n * -----END EC PRIVATE KEY-----»\n */",
        ],
        [
            "-----BEGIN PUBLIC KEY-----\n{b:64}\n-----END PUBLIC KEY-----",
            "-----BEGIN CERTIFICATE-----\n{b:64}\n-----END CERTIFICATE-----",
            "Generate a private key with `openssl genpkey` and keep it out of git.",
        ],
    ),
    "putty-private-key": (
        [
            "«PuTTY-User-Key-File-2: ssh-rsa\nEncryption: none\nComment: deploy\nPublic-Lines: 2\n{b:64}\n{b:20}\nPrivate-Lines: 3\n{b:64}\n{b:64}\n{b:30}==\nPrivate-MAC: {h:40}»",
            "«PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: ci\nPublic-Lines: 2\n{b:64}\n{b:20}\nKey-Derivation: Argon2id\nPrivate-Lines: 1\n{b:44}\nPrivate-MAC: {h:64}»",
        ],
        ["Convert the PuTTY key file with puttygen before use."],
    ),
    "age-secret-key": (
        ["«AGE-SECRET-KEY-1{B:58}»"],
        ["age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p (a public age recipient)"],
    ),
    "kubeconfig-client-key": (
        ["users:\n- name: admin\n  user:\n    client-key-data: «{b:120}==»"],
        ["    client-key-data: <base64 of your key>"],
    ),
    "aws-access-key-id": (
        [
            "aws_access_key_id = «AKIA{U:16}»",
            "«ASIA{U:16}» (temporary)",
            "AccessKeyId: «AKIA{U:16}»",
        ],
        ["AKIAIOSFODNN7EXAMPLE", "the key AKIA123 is too short", "XAKIA{U:16}"],
    ),
    "aws-secret-access-key": (
        [
            "aws_secret_access_key = «{b:40}»",
            'AWS_SECRET_ACCESS_KEY="«{b:40}»"',
            '"SecretAccessKey": "«{b:40}»",',
        ],
        [
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws_secret_access_key = ${AWS_SECRET}",
        ],
    ),
    "aws-session-token": (
        ["«FwoGZXIvYXdzE{b:200}»", "«IQoJb3JpZ2luX2VjE{b:300}»"],
        ["FwoGZXIvYXdz is how a session token starts"],
    ),
    "aws-session-token-assignment": (
        ["aws_session_token = «{b:160}»", '"SessionToken": "«{b:200}»"'],
        ["aws_session_token = ${AWS_SESSION_TOKEN}"],
    ),
    "gcp-api-key": (
        ["«AIza{u:35}»", "https://maps.googleapis.com/maps/api/js?key=«AIza{u:35}»"],
        ["AIza is the prefix of a key", "AIza{u:20}"],
    ),
    "gcp-oauth-client-secret": (['"client_secret": "«GOCSPX-{u:28}»"'], ["GOCSPX-short"]),
    "gcp-oauth-access-token": (
        ["Authorization: Bearer «ya29.a0{u:120}»", "«ya29.{u:80}»"],
        ["ya29.short"],
    ),
    "gcp-oauth-refresh-token": (['"refresh_token": "«1//0{u:80}»"'], ["see 1//0 in the docs"]),
    "gcp-service-account-key-id": (
        ['  "private_key_id": "«{h:40}»",'],
        ['  "private_key_id": "<key id>",'],
    ),
    "azure-storage-account-key": (
        [
            "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=«{b:86}==»;EndpointSuffix=core.windows.net"
        ],
        ["AccountKey=<your account key>"],
    ),
    "azure-shared-access-key": (
        [
            "Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=«{b:43}=»"
        ],
        ["SharedAccessKeyName=RootManageSharedAccessKey"],
    ),
    "azure-sas-token": (
        [
            "https://acme.blob.core.windows.net/c/f.txt?sv=2022-11-02&ss=b&srt=o&sp=r&se=2026-12-01T00:00:00Z&sig=«{b:43}%3D»"
        ],
        ["?sv=2022-11-02&sig=short"],
    ),
    "azure-ad-client-secret": (
        ["AZURE_CLIENT_SECRET=«{u:3}8Q~{u:34}»"],
        ["Q~ alone is not a secret"],
    ),
    "azure-devops-pat": (["«{A:52}JQQJ9{A:27}»"], ["JQQJ9 appears in the format description"]),
    "azure-devops-pat-legacy": (
        ["AZURE_DEVOPS_PAT: «{z:52}»"],
        ["AZURE_DEVOPS_PAT: ${{ secrets.ADO }}"],
    ),
    "alibaba-access-key-id": (["access_key_id = «LTAI{A:20}»"], ["LTAI{A:4} is not a full id"]),
    "alibaba-access-key-secret": (
        ["ALIBABA_CLOUD_ACCESS_KEY_SECRET=«{A:30}»"],
        ["ALIBABA_CLOUD_ACCESS_KEY_SECRET=${SECRET}"],
    ),
    "tencent-secret-id": (["SecretId: «AKID{A:32}»"], ["AKID{A:10}"]),
    "tencent-secret-key": (["TENCENTCLOUD_SECRET_KEY=«{A:32}»"], ["TENCENTCLOUD_SECRET_KEY=$KEY"]),
    "ibm-cloud-api-key": (['IBM_CLOUD_API_KEY="«{u:44}»"'], ["IBM_CLOUD_API_KEY=<api-key>"]),
    "oracle-cloud-auth-token": (
        ["OCI_AUTH_TOKEN=«{A:8}#{A:6}(({A:3}»"],
        ["OCI_AUTH_TOKEN=changeme-please"],
    ),
    "digitalocean-token": (
        ["DIGITALOCEAN_TOKEN=«dop_v1_{h:64}»", "«doo_v1_{h:64}»"],
        ["dop_v1_{h:10}"],
    ),
    "heroku-api-key-v2": (["HEROKU_API_KEY=«HRKU-AA{u:58}»"], ["HRKU-short"]),
    "heroku-api-key": (
        ["HEROKU_API_KEY={uuid}".replace("{uuid}", "«{uuid}»")],
        ["heroku app id: 3f1c2c2e (not a key)"],
    ),
    "cloudflare-api-token": (
        ["CLOUDFLARE_API_TOKEN=«{u:40}»"],
        ["CLOUDFLARE_API_TOKEN=${{ secrets.CF }}"],
    ),
    "cloudflare-origin-ca-key": (["«v1.0-{h:24}-{h:146}»"], ["v1.0-beta"]),
    "fastly-api-token": (["FASTLY_API_TOKEN=«{u:32}»"], ["FASTLY_API_TOKEN=$FASTLY"]),
    "flyio-token": (
        ["FLY_API_TOKEN=«fo1_{u:43}»", "«FlyV1 fm2_{b:120}»".replace("«FlyV1 ", "FlyV1 «")],
        ["fo1_short"],
    ),
    "render-api-key": (["«rnd_{A:32}»"], ["rnd_{A:8}"]),
    "supabase-token": (["«sbp_{h:40}»", "SUPABASE_SECRET_KEY=«sb_secret_{u:40}»"], ["sbp_{h:8}"]),
    "planetscale-token": (["«pscale_tkn_{u:43}»", "«pscale_pw_{u:43}»"], ["pscale_tkn_short"]),
    "netlify-token": (["NETLIFY_AUTH_TOKEN=«nfp_{A:36}»"], ["nfp_{A:5}"]),
    "vercel-token": (["VERCEL_TOKEN=«{A:24}»"], ["VERCEL_TOKEN=${VERCEL_TOKEN}"]),
    "openshift-token": (["oc login --token=«sha256~{u:43}»"], ["sha256~short"]),
    "github-pat": (
        ["«ghp_{A:36}»", "git clone https://«ghp_{A:36}»@github.com/acme/x.git"],
        ["ghp_{A:20}", "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"],
    ),
    "github-oauth-token": (["«gho_{A:36}»"], ["gho_{A:10}"]),
    "github-user-to-server-token": (["«ghu_{A:36}»"], ["ghu_{A:10}"]),
    "github-server-to-server-token": (
        ["https://x-access-token:«ghs_{A:36}»@github.com/acme/x"],
        ["ghs_{A:10}"],
    ),
    "github-refresh-token": (["«ghr_{A:76}»"], ["ghr_{A:10}"]),
    "github-fine-grained-pat": (["«github_pat_11{U:20}_{A:59}»"], ["github_pat_ is the prefix"]),
    "gitlab-pat": (
        ["«glpat-{u:20}»", "PRIVATE-TOKEN: «glpat-{u:27}.01.{a:9}»"],
        ["glpat-{u:8}", "glpat-xxxxxxxxxxxxxxxxxxxx"],
    ),
    "gitlab-deploy-token": (["«gldt-{u:20}»"], ["gldt-short"]),
    "gitlab-runner-token": (['token = "«glrt-{u:20}»"'], ["glrt-short"]),
    "gitlab-runner-router-token": (["«glrtr-{u:24}»"], ["glrtr-short"]),
    "gitlab-pipeline-trigger-token": (
        ["curl -F token=«glptt-{h:40}» -F ref=main"],
        ["glptt-short"],
    ),
    "gitlab-oauth-app-secret": (["«gloas-{h:64}»"], ["gloas-short"]),
    "gitlab-ci-build-token": (["«glcbt-{u:20}»"], ["glcbt-short"]),
    "gitlab-feed-token": (["«glft-{u:20}»"], ["glft-short"]),
    "gitlab-incoming-mail-token": (["«glimt-{a:25}»"], ["glimt-short"]),
    "gitlab-agent-token": (["«glagent-{u:50}»"], ["glagent-short"]),
    "gitlab-scim-token": (["«glsoat-{u:20}»"], ["glsoat-short"]),
    "gitlab-feature-flag-token": (["«glffct-{u:20}»"], ["glffct-short"]),
    "gitlab-workspace-token": (["«glwt-{u:20}»"], ["glwt-short"]),
    "gitlab-runner-registration-token": (["«GR1348941{u:20}»"], ["GR1348941 is the prefix"]),
    "gitlab-session-cookie": (["Cookie: _gitlab_session=«{a:32}»"], ["_gitlab_session=abc"]),
    "bitbucket-app-password": (["«ATBB{A:32}»"], ["ATBB{A:5}"]),
    "bitbucket-access-token": (["«ATCTT3xFfGN0{u:180}»"], ["ATCTT3xFfGN0short"]),
    "bitbucket-client-secret": (
        ["BITBUCKET_CLIENT_SECRET=«{u:32}»"],
        ["BITBUCKET_CLIENT_SECRET=$SECRET"],
    ),
    "circleci-token": (["«CCIPAT_{A:22}_{h:40}»", "«CCIPRJ_{A:22}_{h:40}»"], ["CCIPAT_short"]),
    "circleci-token-legacy": (["CIRCLECI_TOKEN=«{h:40}»"], ["CIRCLECI_TOKEN=${CIRCLE_TOKEN}"]),
    "buildkite-token": (["«bkua_{h:40}»"], ["bkua_{h:6}"]),
    "buildkite-agent-token": (
        ["BUILDKITE_AGENT_TOKEN=«{a:86}»"],
        ["BUILDKITE_AGENT_TOKEN=${TOKEN}"],
    ),
    "travis-ci-token": (["TRAVIS_API_TOKEN=«{u:22}»"], ["TRAVIS_API_TOKEN=$T"]),
    "sourcegraph-token": (
        ["«sgp_{h:16}_{h:40}»", "«sgp_{h:40}»", "«sgp_local_{h:40}»", "«sgp_{H:16}_{H:40}»"],
        ["sgp_{h:5}"],
    ),
    "harness-token": (["«pat.{u:22}.{h:24}.{A:20}»"], ["pat.short"]),
    "octopus-deploy-api-key": (["X-Octopus-ApiKey: «API-{U:26}»"], ["API-V2"]),
    "npm-token": (
        ["//registry.npmjs.org/:_authToken=«npm_{A:36}»"],
        ["npm_{A:10}", "npm_install_hook"],
    ),
    "npmrc-auth": (
        ["//npm.acme.dev/:_authToken=«{u:40}»", "_auth = «{b:32}=»"],
        ["//registry.npmjs.org/:_authToken=${NPM_TOKEN}"],
    ),
    "pypi-token": (
        ["password = «pypi-AgEIcHlwaS5vcmc{u:70}»", "«pypi-AgENdGVzdC5weXBpLm9yZw{u:70}»"],
        ["pypi-AgEIcHlwaS5vcmc"],
    ),
    "nuget-api-key": (["dotnet nuget push x.nupkg --api-key «oy2{a:43}»"], ["oy2{a:10}"]),
    "rubygems-api-key": (["«rubygems_{h:48}»"], ["rubygems_{h:10}"]),
    "artifactory-api-key": (["«AKCp{A:69}»"], ["AKCp{A:10}"]),
    "artifactory-reference-token": (["«cmVmdGtuOjAxOj{A:50}»"], ["cmVmdGtuOjAxOj"]),
    "docker-hub-token": (
        ["docker login -u acme -p «dckr_pat_{u:27}»", "«dckr_oat_{u:32}»"],
        ["dckr_pat_short"],
    ),
    "terraform-cloud-token": (['token = "«{A:14}.atlasv1.{u:67}»"'], ["app.atlasv1.short"]),
    "pulumi-token": (["PULUMI_ACCESS_TOKEN=«pul-{h:40}»"], ["pul-{h:8}"]),
    "clojars-token": (["«CLOJARS_{a:60}»"], ["CLOJARS_{a:8}"]),
    "crates-io-token": (["cargo login «cio{A:32}»"], ["cio{A:4}", "precious cargo"]),
    "hex-pm-key": (["HEX_API_KEY=«hex_{h:32}»"], ["hex_{h:8}"]),
    "openai-api-key": (
        [
            "«sk-proj-{u:74}T3BlbkFJ{u:74}»",
            "«sk-{A:20}T3BlbkFJ{A:20}»",
            "«sk-svcacct-{u:64}»",
            "«sk-{A:48}»",
            "«sk-admin-{u:60}»",
        ],
        ["sk-{A:10}", "risk-based sk-proj-x"],
    ),
    "anthropic-api-key": (
        ["«sk-ant-api03-{u:93}AA»", "«sk-ant-admin01-{u:93}AA»"],
        ["sk-ant-api03-short"],
    ),
    "huggingface-token": (["HF_TOKEN=«hf_{L:34}»"], ["hf_{L:8}", "hf_hub_download"]),
    "huggingface-org-token": (["«api_org_{L:34}»"], ["api_org_{L:4}"]),
    "cohere-api-key": (["COHERE_API_KEY=«{A:40}»"], ["COHERE_API_KEY=${COHERE}"]),
    "groq-api-key": (["«gsk_{A:52}»"], ["gsk_{A:8}"]),
    "mistral-api-key": (["MISTRAL_API_KEY=«{A:32}»"], ["MISTRAL_API_KEY=${{ secrets.MISTRAL }}"]),
    "replicate-api-token": (["REPLICATE_API_TOKEN=«r8_{A:37}»"], ["r8_{A:5}"]),
    "langsmith-api-key": (
        ["LANGSMITH_API_KEY=«lsv2_pt_{h:32}_{h:10}»", "«lsv2_sk_{h:32}_{h:10}»"],
        ["lsv2_pt_{h:8}"],
    ),
    "langfuse-secret-key": (
        ["LANGFUSE_SECRET_KEY=«sk-lf-{uuid}»"],
        ["pk-lf-{uuid} (a public key)".replace("{uuid}", "1c2b3a4d-0000-4000-8000-123412341234")],
    ),
    "perplexity-api-key": (["«pplx-{A:48}»"], ["pplx-{A:8}"]),
    "xai-api-key": (["XAI_API_KEY=«xai-{A:80}»"], ["xai-{A:10}"]),
    "openrouter-api-key": (["«sk-or-v1-{h:64}»"], ["sk-or-v1-{h:8}"]),
    "deepseek-api-key": (["DEEPSEEK_API_KEY=«sk-{h:32}»"], ["sk-{h:8}"]),
    "pinecone-api-key": (["«pcsk_{A:6}_{A:60}»"], ["pcsk_{A:8}"]),
    "fireworks-api-key": (["«fw_{A:24}»"], ["fw_{A:6}"]),
    "cerebras-api-key": (["«csk-{a:48}»"], ["csk-{a:8}"]),
    "elevenlabs-api-key": (["xi-api-key: «sk_{h:48}»"], ["sk_{h:8}"]),
    "anyscale-api-key": (["«esecret_{a:40}»"], ["esecret_x"]),
    "together-api-key": (["TOGETHER_API_KEY=«{h:64}»"], ["TOGETHER_API_KEY=$TOGETHER"]),
    "wandb-api-key": (["WANDB_API_KEY=«{h:40}»"], ["WANDB_API_KEY=${WANDB_KEY}"]),
    "datadog-api-key": (
        ["DD_API_KEY=«{h:32}»", "datadog_app_key: «{h:40}»"],
        ["DD_API_KEY=${DD_KEY}"],
    ),
    "new-relic-user-api-key": (["«NRAK-{U:27}»", "«NRAA-{h:27}»", "«NRRA-{h:42}»"], ["NRAK-{U:5}"]),
    "new-relic-insert-key": (["«NRII-{u:32}»"], ["NRII-short"]),
    "new-relic-license-key": (
        ["NEW_RELIC_LICENSE_KEY=«{h:36}NRAL»", "«eu01xx{h:30}NRAL»", "«{H:36}NRAL»"],
        ["NRAL is the suffix"],
    ),
    "new-relic-browser-key": (["«NRJS-{h:19}»", "«NRBR-{h:19}»"], ["NRJS-{h:4}"]),
    "sentry-auth-token": (
        [
            "SENTRY_AUTH_TOKEN=«sntrys_eyJ{b:100}»",
            "«sntryu_{h:64}»",
            "«sntrys_eyJpYXQiOjE3{b:120}_{u:20}-{u:22}»",
        ],
        ["sntryu_{h:8}"],
    ),
    "sentry-dsn": (
        ["SENTRY_DSN=https://«{h:32}»@o{d:6}.ingest.sentry.io/{d:7}"],
        ["https://sentry.io/organizations/acme/"],
    ),
    "sentry-token-legacy": (["SENTRY_TOKEN=«{h:64}»"], ["SENTRY_TOKEN=${SENTRY}"]),
    "grafana-cloud-token": (["«glc_{b:80}==»"], ["glc_{b:8}"]),
    "grafana-service-account-token": (["«glsa_{A:32}_{h:8}»"], ["glsa_{A:8}"]),
    "grafana-api-key": (["«eyJrIjoi{b:80}»"], ["eyJrIjoi"]),
    "honeycomb-api-key": (["«hcaik_01{a:58}»"], ["hcaik_x"]),
    "honeycomb-api-key-legacy": (["HONEYCOMB_API_KEY=«{A:22}»"], ["HONEYCOMB_API_KEY=$HC"]),
    "pagerduty-api-key": (["PAGERDUTY_TOKEN=«u+{u:18}»"], ["PAGERDUTY_TOKEN=${PD}"]),
    "bugsnag-api-key": (["BUGSNAG_API_KEY=«{h:32}»"], ["BUGSNAG_API_KEY=$BUGSNAG"]),
    "rollbar-access-token": (
        ["ROLLBAR_ACCESS_TOKEN=«{h:32}»"],
        ["ROLLBAR_ACCESS_TOKEN=${ROLLBAR}"],
    ),
    "dynatrace-token": (["«dt0c01.{U:24}.{U:64}»"], ["dt0c01.short"]),
    "splunk-hec-token": (["SPLUNK_HEC_TOKEN=«{uuid}»"], ["SPLUNK_HEC_TOKEN=${HEC}"]),
    "splunk-hec-header": (["Authorization: Splunk «{uuid}»"], ["Authorization: Splunk <token>"]),
    "slack-token": (
        [
            "«xoxb-{d:12}-{d:13}-{A:24}»",
            "«xoxp-{d:12}-{d:12}-{d:13}-{h:32}»",
            "«xoxc-{d:12}-{d:12}-{d:13}-{h:64}»",
            "«slk_{A:40}»",
        ],
        ["xoxb-short", "xoxb-xxxxxxxxxxxx-xxxxxxxxxxxx"],
    ),
    "slack-config-token": (["«xoxe.xoxp-1-{A:140}»"], ["xoxe.xoxp-1-short"]),
    "slack-app-token": (["«xapp-1-A{U:10}-{d:13}-{h:64}»"], ["xapp-1-short"]),
    "slack-webhook": (
        ["https://hooks.slack.com/«services/T{U:8}/B{U:10}/{A:24}»"],
        ["https://hooks.slack.com/services/"],
    ),
    "discord-webhook": (
        ["https://discord.com/api/webhooks/«{d:18}/{u:68}»"],
        ["https://discord.com/api/webhooks/"],
    ),
    "discord-bot-token": (
        ["DISCORD_BOT_TOKEN=«M{u:25}.{u:6}.{u:38}»"],
        ["DISCORD_BOT_TOKEN=${DISCORD}"],
    ),
    "discord-bot-token-header": (
        ['"Authorization": "Bot «N{u:23}.{u:6}.{u:27}»"'],
        ["Authorization: Bot <token>"],
    ),
    "microsoft-teams-webhook": (
        ["https://acme.webhook.office.com/«webhookb2/{uuid}@{uuid}/IncomingWebhook/{h:32}/{uuid}»"],
        ["https://acme.webhook.office.com/"],
    ),
    "microsoft-teams-webhook-legacy": (
        ["https://outlook.office.com/«webhook/{uuid}@{uuid}/IncomingWebhook/{h:32}/{uuid}»"],
        ["https://outlook.office.com/mail/"],
    ),
    "power-automate-webhook": (
        [
            "https://prod-27.westeurope.logic.azure.com:443/«workflows/{h:32}/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={u:43}»"
        ],
        ["https://portal.azure.com/logic"],
    ),
    "google-chat-webhook": (
        [
            "https://chat.googleapis.com/v1/spaces/«AAAA{u:7}/messages?key=AIza{u:35}&token={u:43}%3D»"
        ],
        ["https://chat.googleapis.com/v1/spaces"],
    ),
    "twilio-api-key": (["TWILIO_API_KEY=«SK{h:32}»"], ["SK{h:8}", "ask skills"]),
    "twilio-auth-token": (["TWILIO_AUTH_TOKEN=«{h:32}»"], ["TWILIO_AUTH_TOKEN=${TWILIO}"]),
    "sendgrid-api-key": (["«SG.{u:22}.{u:43}»"], ["SG.short"]),
    "mailgun-api-key": (["api:«key-{h:32}»"], ["key-value store"]),
    "mailgun-key": (["MAILGUN_API_KEY=«{h:32}-{h:8}-{h:8}»"], ["MAILGUN_API_KEY=${MG}"]),
    "mailchimp-api-key": (["«{h:32}-us{d:2}»"], ["en-us locale"]),
    "telegram-bot-token": (["https://api.telegram.org/bot«{d:10}:AA{u:33}»/getMe"], ["{d:10}:AA"]),
    "brevo-api-key": (["«xkeysib-{h:64}-{A:16}»", "«xsmtpsib-{h:64}-{A:16}»"], ["xkeysib-{h:8}"]),
    "postmark-token": (["POSTMARK_SERVER_TOKEN=«{uuid}»"], ["POSTMARK_SERVER_TOKEN=${PM}"]),
    "mandrill-api-key": (["MANDRILL_KEY=«md-{u:22}»"], ["md-5 checksum"]),
    "mattermost-token": (["MATTERMOST_TOKEN=«{a:26}»"], ["MATTERMOST_TOKEN=${MM}"]),
    "vonage-api-secret": (["VONAGE_API_SECRET=«{A:16}»"], ["VONAGE_API_SECRET=${V}"]),
    "stripe-secret-key": (
        ["«sk_live_{A:99}»", "«rk_test_{A:24}»", "Stripe.api_key = '«sk_test_{A:24}»'"],
        ["sk_live_", "pk_live_{A:24}"],
    ),
    "stripe-webhook-secret": (["STRIPE_WEBHOOK_SECRET=«whsec_{A:32}»"], ["whsec_x"]),
    "square-access-token": (["«EAAA{u:60}»", "«sq0atp-{u:22}»"], ["EAAA{u:5}"]),
    "square-oauth-secret": (["«sq0csp-{u:43}»"], ["sq0csp-short"]),
    "facebook-access-token": (["«EAACEdEose0cBA{A:150}»"], ["EAA{A:10}"]),
    "facebook-app-secret": (["FACEBOOK_APP_SECRET=«{h:32}»"], ["FACEBOOK_APP_SECRET=${FB}"]),
    "braintree-access-token": (
        ["«access_token$production${a:16}${h:32}»"],
        ["access_token$production$"],
    ),
    "paypal-client-secret": (["PAYPAL_CLIENT_SECRET=«{u:80}»"], ["PAYPAL_CLIENT_SECRET=${PAYPAL}"]),
    "shopify-token": (["«shpat_{h:32}»", "«shpss_{h:32}»"], ["shpat_{h:8}"]),
    "atlassian-api-token": (
        ["«ATATT3xFfGF0{u:180}»", "JIRA_API_TOKEN=«ATATT3xFfGF0{u:183}={H:8}»"],
        ["ATATT3x"],
    ),
    "atlassian-api-token-legacy": (["JIRA_API_TOKEN=«{A:24}»"], ["JIRA_API_TOKEN=${JIRA}"]),
    "linear-api-key": (["«lin_api_{A:40}»"], ["lin_api_{A:8}"]),
    "linear-oauth-token": (["«lin_oauth_{h:64}»"], ["lin_oauth_{h:8}"]),
    "notion-token": (["«secret_{A:43}»", "«ntn_{d:11}{A:35}»"], ["secret_key", "ntn_{d:4}"]),
    "airtable-pat": (["«pat{A:14}.{h:64}»"], ["path.join", "pattern"]),
    "airtable-api-key": (["AIRTABLE_API_KEY=«key{A:14}»"], ["AIRTABLE_API_KEY=${AT}"]),
    "asana-token": (
        ["ASANA_TOKEN=«1/1{d:15}:{A:32}»", "«2/1{d:15}/1{d:15}:{h:32}»"],
        ["1/2 of the work"],
    ),
    "algolia-api-key": (["ALGOLIA_ADMIN_KEY=«{h:32}»"], ["ALGOLIA_ADMIN_KEY=${ALGOLIA}"]),
    "okta-api-token": (["OKTA_API_TOKEN=«00{u:40}»"], ["OKTA_API_TOKEN=${OKTA}"]),
    "auth0-client-secret": (["AUTH0_CLIENT_SECRET=«{u:64}»"], ["AUTH0_CLIENT_SECRET=${AUTH0}"]),
    "doppler-token": (
        ["DOPPLER_TOKEN=«dp.st.prd.{A:40}»".replace("dp.st.prd.", "dp.st."), "«dp.pt.{A:43}»"],
        ["dp.pt.short"],
    ),
    "onepassword-secret-key": (
        ["«A3-{U:6}-{U:6}-{U:5}-{U:5}-{U:5}-{U:5}»", "«A3-{U:6}-{U:11}-{U:5}-{U:5}-{U:5}»"],
        ["A3-paper size"],
    ),
    "onepassword-service-account-token": (
        ["OP_SERVICE_ACCOUNT_TOKEN=«ops_eyJ{b:200}»"],
        ["ops_eyJ"],
    ),
    "vault-token": (["VAULT_TOKEN=«hvs.{u:90}»", "«hvb.{u:120}»", "«hvs.{A:24}»"], ["hvs.short"]),
    "vault-token-legacy": (
        ["VAULT_TOKEN=«s.{A:24}»", "vault token «s.{A:26}»", "VAULT_TOKEN=«b.{u:60}»"],
        ["VAULT_TOKEN=${VAULT}"],
    ),
    "databricks-token": (["DATABRICKS_TOKEN=«dapi{h:32}»", "«dapi{h:32}-2»"], ["dapi{h:8}"]),
    "snowflake-password": (
        ["SNOWFLAKE_PASSWORD=«Tr0ub4dor&3x»"],
        ["SNOWFLAKE_PASSWORD=${SNOWFLAKE_PASSWORD}"],
    ),
    "postman-api-key": (["«PMAK-{h:24}-{h:34}»"], ["PMAK-{h:8}"]),
    "figma-token": (["X-Figma-Token: «figd_{u:40}»"], ["figd_short"]),
    "figma-token-legacy": (["FIGMA_TOKEN=«{d:6}-{uuid}»"], ["FIGMA_TOKEN=${FIGMA}"]),
    "zendesk-api-token": (["ZENDESK_API_TOKEN=«{A:40}»"], ["ZENDESK_API_TOKEN=${ZD}"]),
    "contentful-token": (["«CFPAT-{u:43}»"], ["CFPAT-short"]),
    "dropbox-token": (["«sl.{u:140}»"], ["sl.short"]),
    "mapbox-secret-token": (["«sk.eyJ1{u:60}.{u:22}»"], ["pk.eyJ1{u:60}.{u:22}"]),
    "twitter-bearer-token": (["«AAAAAAAAAAAAAAAAAAAAA{A:60}%3D{A:40}»"], ["AAAAAAAAAA"]),
    "shippo-token": (["«shippo_live_{h:40}»"], ["shippo_live_{h:8}"]),
    "duffel-token": (["«duffel_test_{u:43}»"], ["duffel_test_x"]),
    "easypost-api-key": (["«EZAK{A:54}»"], ["EZAK{A:8}"]),
    "flutterwave-key": (["«FLWSECK_TEST-{h:32}-X»"], ["FLWSECK-"]),
    "frameio-token": (["«fio-u-{u:64}»"], ["fio-u-short"]),
    "typeform-token": (["«tfp_{u:59}»"], ["tfp_short"]),
    "prefect-api-key": (["PREFECT_API_KEY=«pnu_{A:36}»"], ["pnu_{A:8}"]),
    "readme-api-key": (["«rdme_{a:70}»"], ["rdme_{a:8}"]),
    "adafruit-io-key": (["«aio_{A:28}»"], ["aio_{A:8}"]),
    "infracost-api-key": (["INFRACOST_API_KEY=«ico-{A:32}»"], ["ico-{A:8}"]),
    "scalingo-token": (["«tk-us-{u:48}»"], ["tk-us-short"]),
    "defined-networking-key": (["«dnkey-{a:26}-{a:52}»"], ["dnkey-short"]),
    "settlemint-token": (["«sm_pat_{A:16}»"], ["sm_pat_{A:4}"]),
    "maxmind-license-key": (["«{A:6}_{A:29}_mmk»"], ["_mmk"]),
    "yandex-token": (["«AQVN{u:36}»", "«y0_{u:50}»"], ["y0_short"]),
    "intra42-secret": (["«s-s4t2ud-{h:64}»"], ["s-s4t2ud-{h:8}"]),
    "gocardless-token": (
        ["GOCARDLESS_ACCESS_TOKEN=«live_{A:40}»"],
        ["live_{A:8}", "live_reload_enabled_for_the_development_server"],
    ),
    "sidekiq-secret": (
        ["BUNDLE_ENTERPRISE__CONTRIBSYS__COM=«{h:8}:{h:8}»"],
        ["BUNDLE_ENTERPRISE__CONTRIBSYS__COM=${SIDEKIQ}"],
    ),
    "contentstack-token": (
        ["CONTENTSTACK_MANAGEMENT_TOKEN=«cs{h:32}»"],
        ["CONTENTSTACK_MANAGEMENT_TOKEN=${CS}"],
    ),
    "segment-write-key": (["SEGMENT_WRITE_KEY=«{A:32}»"], ["SEGMENT_WRITE_KEY=${SEGMENT}"]),
    "launchdarkly-token": (["LD_SDK_KEY=«sdk-{uuid}»", "«api-{uuid}»"], ["sdk-version"]),
    "adobe-client-secret": (["ADOBE_CLIENT_SECRET=«p8e-{u:32}»"], ["p8e-short"]),
    "deno-deploy-token": (["DENO_DEPLOY_TOKEN=«ddp_{A:36}»"], ["ddp_{A:8}"]),
    "intercom-access-token": (["«dG9rOj{b:60}=»"], ["dG9rOj"]),
    "plaid-access-token": (["«access-production-{uuid}»"], ["access-production-denied"]),
    "hubspot-private-app-token": (["HUBSPOT_TOKEN=«pat-na1-{uuid}»"], ["pat-na1-short"]),
    "salesforce-access-token": (["SF_SESSION=«00D{A:15}!{A:96}»"], ["00D5e000000 (an org id)"]),
    "dropbox-long-lived-token": (["«{a:11}AAAAAAAAAA{u:43}»"], ["AAAAAAAAAA"]),
    "zapier-webhook": (
        ["https://hooks.zapier.com/hooks/catch/«{d:7}/{a:7}»/"],
        ["https://hooks.zapier.com/"],
    ),
    "firebase-cloud-messaging-key": (["«AAAA{u:7}:APA91b{u:134}»"], ["AAAA{u:7}:short"]),
    "twitch-oauth-token": (["PASS oauth:«{a:30}»"], ["oauth:short"]),
    "sonarqube-token": (["SONAR_TOKEN=«squ_{h:40}»", "«sqp_{h:40}»"], ["squ_{h:8}"]),
    "snyk-token": (["SNYK_TOKEN=«{uuid}»"], ["SNYK_TOKEN=${SNYK}"]),
    "neon-api-key": (["NEON_API_KEY=«napi_{a:64}»"], ["napi_{a:8}"]),
    "resend-api-key": (["RESEND_API_KEY=«re_{A:8}_{A:24}»"], ["re_run_tests"]),
    "trigger-dev-key": (["TRIGGER_SECRET_KEY=«tr_prod_{A:20}»"], ["tr_prod_x"]),
    "inngest-signing-key": (["INNGEST_SIGNING_KEY=«signkey-prod-{h:64}»"], ["signkey-prod-x"]),
    "statsig-server-secret": (["STATSIG_SERVER_SECRET=«secret-{A:43}»"], ["secret-sauce"]),
    "posthog-personal-api-key": (
        ["«phx_{A:43}»", "«phs_{A:20}_{A:22}»", "POSTHOG_KEY=«pha_{A:43}»", "«phr_{A:43}»"],
        ["phx_{A:8}"],
    ),
    "klaviyo-private-key": (["KLAVIYO_PRIVATE_KEY=«pk_{h:34}»"], ["pk_{h:8}"]),
    "onesignal-api-key": (["«os_v2_app_{a:56}»"], ["os_v2_app_x"]),
    "azure-app-configuration-secret": (
        ["Endpoint=https://acme.azconfig.io;Id=ab12-cd-s0:{A:20};Secret=«{b:43}=»"],
        ["Endpoint=https://acme.azconfig.io"],
    ),
    "authress-key": (["«sc_{a:12}.{a:5}.acc_{a:20}.{u:60}»"], ["sc_x.y"]),
    "jenkins-api-token": (["JENKINS_API_TOKEN=«11{h:32}»"], ["JENKINS_API_TOKEN=${JENKINS}"]),
    # ---- providers by documented token format (round 2)
    "posthog-project-api-key": (["«phc_{A:43}»"], ["phc_{A:8}"]),
    "cloudflare-scannable-token": (
        ["«cfut_{A:40}{A:8}»", "CLOUDFLARE_API_KEY=«cfk_{A:46}»", "«cfat_{A:48}»"],
        ["cfut_{A:10}"],
    ),
    "tailscale-key": (
        ["«tskey-auth-k{A:11}-{A:33}»", "«tskey-api-k{A:11}CNTRL-{A:32}»"],
        ["tskey-auth-short"],
    ),
    "akamai-edgegrid-token": (["client_token = «akab-{a:16}-{a:16}»"], ["akab-{a:6}-{a:6}"]),
    "scaleway-access-key": (["SCW_ACCESS_KEY=«SCW{U:17}»"], ["SCW{U:5}"]),
    "exoscale-api-key": (["«EXO{h:24}»"], ["EXO{h:6}"]),
    "aws-bedrock-api-key": (["AWS_BEARER_TOKEN_BEDROCK=«ABSK{b:128}»"], ["ABSK{b:10}"]),
    "amazon-mws-token": (["«amzn.mws.{uuid}»"], ["amzn.mws.short"]),
    "amazon-oauth-token": (["«Atza|{u:120}»", "«Atzr|{u:200}»"], ["Atza|short"]),
    "gcp-hmac-access-id": (["«GOOG1{U:56}»"], ["GOOG1{U:8}"]),
    "backblaze-application-key": (["B2_APPLICATION_KEY=«K005{A:27}»"], ["K005{A:5}"]),
    "buildkite-access-token": (["«bkaa_MTA.{A:80}»", "«bkua_MTA.{h:40}»"], ["bkaa_short"]),
    "teamcity-token": (["«eyJ0eXAiOiAiVENWMiJ9.{u:36}.{u:48}»"], ["eyJ0eXAiOiAiVENWMiJ9.short"]),
    "databricks-oauth-secret": (["«dose{h:32}»"], ["dose{h:8}"]),
    "dbt-cloud-token": (["«dbtc_{u:56}»"], ["dbtc_short"]),
    "xata-api-key": (["«xau_{A:40}»"], ["xau_{A:6}"]),
    "nvidia-api-key": (["«nvapi-{u:64}»"], ["nvapi-{u:10}"]),
    "voyage-api-key": (["VOYAGE_API_KEY=«pa-{u:43}»"], ["pa-{u:10}"]),
    "tavily-api-key": (["«tvly-{A:32}»", "«tvly-dev-{A:32}»"], ["tvly-{A:8}"]),
    "firecrawl-api-key": (["«fc-{h:32}»"], ["fc-{h:8}"]),
    "jina-api-key": (["«jina_{h:32}{u:28}»"], ["jina_{u:8}"]),
    "e2b-api-key": (["«e2b_{h:40}»"], ["e2b_{h:8}"]),
    "browserbase-api-key": (["«bb_live_{u:27}»"], ["bb_live_short"]),
    "helicone-api-key": (["«sk-helicone-{a:7}-{a:7}-{a:7}-{a:7}»"], ["sk-helicone-short"]),
    "cartesia-api-key": (["«sk_car_{A:40}»"], ["sk_car_{A:5}"]),
    "instagram-access-token": (["«IGQVJ{u:160}»"], ["IGQV{u:10}"]),
    "pinterest-access-token": (["«pina_{U:96}»"], ["pina_{U:8}"]),
    "adyen-api-key": (["X-API-Key: «AQEyhmfxL{u:40}.{u:60}»"], ["AQEsmall"]),
    "razorpay-key": (["«rzp_live_{A:14}»"], ["rzp_live_{A:5}"]),
    "paddle-api-key": (["«pdl_live_apikey_{a:26}_{A:22}_{A:3}»"], ["pdl_live_short"]),
    "zoho-token": (["«1000.{h:32}.{h:32}»"], ["1000.{h:8}"]),
    "clickup-token": (["«pk_{d:8}_{U:32}»"], ["pk_{d:8}_{U:6}"]),
    "trello-token": (["«ATTA{h:64}{H:8}»"], ["ATTA{A:8}"]),
    "mapbox-temporary-token": (["«tk.eyJ1{u:60}.{u:22}»"], ["tk.eyJ"]),
    "riot-games-api-key": (["«RGAPI-{uuid}»"], ["RGAPI-short"]),
    "honeybadger-token": (["«hbp_{A:36}»"], ["hbp_{A:8}"]),
    "rootly-api-key": (["«rootly_{h:64}»"], ["rootly_{h:8}"]),
    "firehydrant-api-key": (["«fhb-{h:32}»"], ["fhb-{h:8}"]),
    "mercury-api-token": (
        ["«secret-token:mercury_production_{A:12}_{A:40}»"],
        ["secret-token:mercury_production_x"],
    ),
    "gitbook-api-token": (["«gb_api_{A:48}»"], ["gb_api_{A:8}"]),
    "matrix-access-token": (["«syt_{A:8}_{A:20}_{A:6}»"], ["syt_{A:8}"]),
    "nightfall-api-key": (["«NF-{A:32}»"], ["NF-{A:8}"]),
    "mailersend-api-key": (["«mlsn.{h:64}»"], ["mlsn.{h:8}"]),
    "configcat-sdk-key": (["«configcat-sdk-1/{u:22}/{u:22}»"], ["configcat-sdk-1/short"]),
    "coralogix-key": (["«cxtp_{A:30}»"], ["cxtp_{A:8}"]),
    "axiom-token": (["«xaat-{uuid}»"], ["xaat-short"]),
    "checkly-api-key": (["CHECKLY_API_KEY=«cu_{h:32}»"], ["cu_{h:8}"]),
    "elastic-cloud-api-key": (["«essu_{b:80}==»"], ["essu_{b:8}"]),
    "pagerduty-user-token": (["«u+{u:18}»"], ["u+{u:5}"]),
    "openvpn-static-key": (
        [
            "«-----BEGIN OpenVPN Static key V1-----\n{h:32}\n{h:32}\n{h:32}\n-----END OpenVPN Static key V1-----»"
        ],
        ["an OpenVPN static key is shared by both ends"],
    ),
    "stytch-secret": (["«secret-live-{u:36}»"], ["secret-live-short"]),
    "sourcegraph-dotcom-token": (["«sgd_{h:64}»"], ["sgd_{h:8}"]),
    "vault-batch-token-legacy": (["«b.AAAAAQ{u:120}»"], ["b.AAAAAQ"]),
    "ngrok-authtoken": (["ngrok config add-authtoken «2{A:26}_{A:21}»"], ["ngrok http 8080"]),
    "kubernetes-bootstrap-token": (
        [
            "kubeadm join 10.0.0.1:6443 --token «{a:6}.{a:16}» --discovery-token-ca-cert-hash sha256:{h:64}"
        ],
        ["kubeadm join --token <token>"],
    ),
    "fleetdm-token": (["«fleet_{b:64}»"], ["fleet_{b:6}"]),
    "authzed-token": (["«sdbst_h256_{A:48}»"], ["sdbst_x"]),
    "prefect-cloud-key": (["«pnb_{A:36}»"], ["pnb_{A:6}"]),
    "langchain-api-key-legacy": (["«ls__{h:32}»"], ["ls__{h:6}"]),
    "bitwarden-access-token": (
        ["BWS_ACCESS_TOKEN=«0.{uuid}.{A:30}:{b:22}==»"],
        ["BWS_ACCESS_TOKEN=0.5"],
    ),
    "mollie-api-key": (["MOLLIE_KEY=«live_{A:30}»"], ["live_{A:8}"]),
    "lob-api-key": (["LOB_API_KEY=«live_{h:35}»", "«test_pub_{h:31}»"], ["live_{h:8}"]),
    "aws-bedrock-short-term-key": (
        ["«bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t{b:200}»"],
        ["bedrock-api-key-short"],
    ),
    "datastax-astra-token": (
        ["ASTRA_DB_APPLICATION_TOKEN=«AstraCS:{L:24}:{h:64}»"],
        ["AstraCS:short"],
    ),
    "apify-api-token": (["«apify_api_{A:36}»"], ["apify_api_{A:6}"]),
    "zuplo-api-key": (["«zpka_{h:32}_{h:8}»"], ["zpka_{h:8}"]),
    "ramp-api-secret": (["«ramp_sec_{A:48}»"], ["ramp_sec_{A:8}"]),
    "together-api-key-v1": (["«tgp_v1_{u:43}»"], ["tgp_v1_short"]),
    "appwrite-api-key": (["«standard_{h:256}»"], ["standard_{h:16}"]),
    "neptune-api-token": (
        ["NEPTUNE_API_TOKEN=«eyJhcGlfYWRkcmVzcyI6{b:120}==»"],
        ["eyJhcGlfYWRkcmVzcyI6"],
    ),
    "wix-api-key": (["«IST.eyJraWQiOi{u:80}.{u:200}»"], ["IST.eyJ"]),
    "mailgun-public-key": (["«pubkey-{h:32}»"], ["pubkey-{h:8}"]),
    "postman-collection-key": (["«PMAT-{U:26}»"], ["PMAT-{U:6}"]),
    "builder-io-private-key": (["«bpk-{h:32}»"], ["bpk-{h:8}"]),
    "growthbook-secret-key": (["«secret_admin_{A:40}»"], ["secret_admin_{A:5}"]),
    "clickhouse-cloud-secret": (["«4b1d{A:38}»"], ["4b1d{A:8}"]),
    "cockroachdb-cloud-key": (["«CCDB1_{A:22}_{A:40}»"], ["CCDB1_{A:8}"]),
    "jwt-base64": (
        ["«ZXlKaGJHY2lPaUpJVXpJMU5pSXNJblI1Y0NJNklrcFhWQ0o5LmV5SnpkV0lpT2lJe{b:80}»"],
        ["ZXlK{b:10}"],
    ),
    "retool-api-token": (["«retool_{A:40}»"], ["retool_{A:8}"]),
    "kong-konnect-token": (["«kpat_{A:49}»"], ["kpat_{A:8}"]),
    "amazon-lwa-client-secret": (["«amzn1.oa2-cs.v1.{h:64}»"], ["amzn1.oa2-cs.v1.{h:8}"]),
    "azure-identifiable-key": (
        ["«{A:42}AzSeB{A:5}»", "«{b:33}AzCaA{A:5}=»", "«{b:33}+ASb{A:6}=»"],
        ["AzSe is the search service's signature"],
    ),
    "convex-deploy-key": (
        ["CONVEX_DEPLOY_KEY=«prod:happy-otter-{d:3}|{b:80}»"],
        ["prod:happy-otter-123"],
    ),
    "discord-token": (
        [
            "token: «{snowflake}.G{u:5}.{u:38}»",
            "bot.run('«{snowflake}.X{u:5}.{u:27}»')",
        ],
        [
            "MTIzNDU2Nzg5MDEyMzQ1Njc4 is only an account id in base64",
            "QUJDREVGR0hJSktMTU5PUFFSU1RV.G{u:5}.{u:38} (the id part is not digits)",
        ],
    ),
    "twilio-sid-and-auth-token": (
        [
            'client = Client("AC{h:32}", "«{h:32}»")',
            "curl -u AC{h:32}:«{h:32}» https://api.example.com/",
            'Client(account_sid="AC{h:32}", auth_token="«{h:32}»")',
            'requests.get(url, auth=("AC{h:32}", "«{h:32}»"))',
            'TwilioClient.Init("AC{h:32}", "«{h:32}»");',
        ],
        ['client = Client("AC{h:32}", os.environ["TWILIO_AUTH_TOKEN"])', "AC{h:32}, {h:16}"],
    ),
    "dependency-track-api-key": (
        ["DTRACK_API_KEY=«odt_{A:32}»", "X-Api-Key: «odt_{A:8}_{A:32}»"],
        ["odt_{A:12}", "the odt_ prefix marks Dependency-Track keys"],
    ),
    "stackhawk-api-key": (
        ['HAWK_API_KEY="«hawk.{u:20}.{u:20}»"'],
        ["hawk.{u:8}.{u:8}", "hawk.eye.view"],
    ),
    "pyx-token": (
        ['password="«sk-pyx-{A:64}»"', "«tp-pyx-2{L:45}»"],
        ["sk-pyx-{A:20}", "tp-pyx-<token>"],
    ),
    "vercel-scannable-token": (
        ["VERCEL_TOKEN=«vcp_{A:56}»", "«vck_{A:56}»", "«vci_{u:50}{A:6}»"],
        ["vcp_{A:20}", "vcp_client_config"],
    ),
    "paseto-token": (
        ["Authorization: Bearer «v4.public.{u:120}»", "token = '«v2.local.{u:96}.{u:20}»'"],
        ["v4.local.{u:10}", "paseto v4.public tokens are signed, v4.local ones encrypted"],
    ),
    "deepl-api-key": (
        ["DEEPL_AUTH_KEY=«{uuid}:fx»", 'deepl.Translator("«{uuid}:fx»")'],
        ["{uuid}", "the free API's keys end with :fx"],
    ),
    "cloudflare-tunnel-token": (
        ["cloudflared tunnel run --token «eyJhIjoi{b:180}»", "TUNNEL_TOKEN=«eyJhIjoi{b:200}==»"],
        ["window.TT = 'eyJhIjoiYiIsImMiOnsiZCI6ImUifSwiZiI6WyJnIiwiaCJdfQ=='"],
    ),
    "rancher-api-token": (
        ["CATTLE_TOKEN=«token-{a:5}:{a:54}»"],
        ["token-{a:5}:{a:20}", "token-abcde: the name of the token"],
    ),
    "portainer-access-token": (
        ["X-API-Key: «ptr_{b:43}=»"],
        ["ptr_{b:20}=", "ptr_to_the_next_element_of_the_list_in_memory_"],
    ),
    "ansible-vault": (
        [
            "db_password: !vault |\n  «$ANSIBLE_VAULT;1.1;AES256\n  {h:80}\n  {h:80}\n  {h:40}»",
            "«$ANSIBLE_VAULT;1.2;AES256;prod\n{h:80}\n{h:64}»",
        ],
        ["Files start with $ANSIBLE_VAULT;1.1;AES256 and hex lines follow."],
    ),
    "django-insecure-secret-key": (
        ["SECRET_KEY = '«django-insecure-{a:50}»'"],
        ["The key startproject writes starts with django-insecure- as a warning."],
    ),
    "aws-appsync-api-key": (
        ["aws_appsync_apiKey: '«da2-{a:26}»'", "x-api-key: «da2-{a:26}»"],
        ["da2-{a:10}"],
    ),
    "digitalocean-spaces-key": (
        ["SPACES_ACCESS_KEY_ID=«DO00{U:16}»", "«DO00{U:36}»"],
        ["DO00{U:4}", "DO00XXXXXXXXXXXXXXXX"],
    ),
    "mongodb-atlas-service-account-secret": (
        ["ATLAS_CLIENT_SECRET=«mdb_sa_sk_{A:40}»", "clientSecret: '«mdb_sa_sk_{a:2}_{A:37}»'"],
        ["mdb_sa_sk_…", "mdb_sa_id_{h:24}"],
    ),
    "aiven-service-password": (
        [
            '"password": "«AVNS_{u:19}»"',
            "postgres://avnadmin:«AVNS_{u:19}»@pg-1.aivencloud.com:1/db",
        ],
        ["AVNS_{u:4}", "AVNS_ passwords are generated"],
    ),
    "pubnub-key": (
        ["secret_key: '«sec-c-{b:48}»'", "publishKey: «pub-c-{uuid}»"],
        ["sub-c-{uuid}", "sec-c-xxxxx", "SEC-C-03: a finding's id"],
    ),
    "xendit-secret-key": (
        [
            "Xendit.setApiKey('«xnd_production_{A:60}»')",
            "XENDIT_SECRET_KEY=«xnd_development_{A:60}»",
        ],
        ["xnd_public_production_{A:60}", "xnd_production_..."],
    ),
    "midtrans-server-key": (
        ["MIDTRANS_SERVER_KEY=«SB-Mid-server-{u:24}»", "serverKey = '«Mid-server-{u:24}»'"],
        [
            "SB-Mid-server-TESTKEY",
            "SB-Mid-client-{u:24}",
            "Mid-server-side-rendering-for-all-routes",
        ],
    ),
    "checkout-secret-key-v2": (
        ["Authorization: Bearer «sk_sbox_{z:26}»", "CKO_SECRET_KEY=«sk_test_{uuid}»"],
        ["sk_sbox_XXXXX", "pk_sbox_{z:26}"],
    ),
    "devcycle-server-key": (
        ["DEVCYCLE_SERVER_SDK_KEY=«dvc_server_{uuid}_{h:7}»"],
        ["dvc_server_token_hash", "dvc_client_{uuid}_{h:7}"],
    ),
    "samsara-api-token": (
        ["Authorization: Bearer «samsara_api_{A:30}»"],
        ["samsara_api_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "samsara_api_token"],
    ),
    "packagist-token": (
        ["$token = '«packagist_ort_{h:68}»';", "«packagist_cut_{h:68}»", "«packagist_acs_{h:64}»"],
        ["packagist_ort_..........", "packagist_uut_{h:20}", "packagist_xyz_{h:68}"],
    ),
    "youtrack-token": (
        ["TOKEN=«perm:{b:8}.{b:8}==.{A:30}»", "Authorization: Bearer «perm:{u:12}.{u:8}.{A:30}»"],
        ["perm:read.write", "perm:[redacted]"],
    ),
    "llamacloud-api-key": (["LLAMA_CLOUD_API_KEY=«llx-{A:48}»"], ["llx-{A:12}", "llx-****"]),
    "tableau-pat-secret": (
        ["personal_access_token_secret = '«{A:22}==:{A:32}»'"],
        ["{A:22}==:short", "padding ==: {A:32}"],
    ),
    "telnyx-api-key-v2": (
        ["Authorization: Bearer «KEY01{H:30}_{A:22}»", "«KEY01{H:30}_{A:22}»"],
        ["KEY01{H:8}", "KEY0_NAME"],
    ),
    "alibaba-sts-access-key-id": (
        ["access_key_id: «STS.N{A:27}»"],
        ["STS.NotAuthorized", "STS.NoSuchEntityException happens"],
    ),
    "endor-labs-api-key": (["ENDOR_API_CREDENTIALS_KEY=«endr+{A:16}»"], ["endr+{A:4}"]),
    "trufflehog-enterprise-key": (
        ["THOG_KEY=«thog-key-{h:16}» THOG_SECRET=«thog-secret-{h:32}»"],
        ["thog-key-{h:4}", "thog-secret-"],
    ),
    "tines-webhook": (
        ["curl -X POST «https://acme-12.tines.com/webhook/{a:32}/{a:32}»"],
        ["https://acme.tines.com/webhook/<path>/<secret>"],
    ),
    "voiceflow-api-key": (
        ["VF_API_KEY=«VF.DM.{h:24}.{A:16}»", "«VF.{h:24}.{A:16}»"],
        ["VF.DM.[redacted]", "VF.DM.{h:8}"],
    ),
    "spectralops-token": (
        ["SPECTRAL_DSN=https://«spu-{a:32}»@get.spectralops.io"],
        ["spu-{a:8}", "spu-utilisation"],
    ),
    "salesforce-refresh-token": (["refresh_token=«5Aep861{A:90}»"], ["5Aep861{A:10}"]),
    "salesforce-consumer-key": (
        ["SF_CONSUMER_KEY=«3MVG9{A:80}»", "client_id=«3MVG9{A:40}.{A:40}»"],
        ["3MVG9{A:10}"],
    ),
    "teamwork-api-token": (["TEAMWORK_TOKEN=«tkn.v1_{A:71}=»"], ["tkn.v1_{A:10}="]),
    "pagarme-api-key": (
        ["PAGARME_API_KEY=«ak_live_{A:30}»", "«ak_test_{A:30}»"],
        ["ak_live_{A:6}"],
    ),
    "recharge-api-token": (
        ["X-Recharge-Access-Token: «sk_1x1_{h:64}»", "«sk_test_10x3_{h:64}»"],
        ["sk_1x1_{h:10}", "sk_4x1_{h:64}"],
    ),
    "saladcloud-api-key": (
        ["SALAD_API_KEY=«salad_cloud_user_{A:45}»"],
        ["salad_cloud_api", "from salad_cloud_sdk import SaladCloudSdk", "salad_cloud_sdk_version"],
    ),
    "coinbase-cdp-key-name": (
        ['"name": "«organizations/{uuid}/apiKeys/{uuid}»"'],
        ["organizations/<org id>/apiKeys/<key id>", "organizations/{uuid}/members/{uuid}"],
    ),
    "stripe-client-secret": (
        ["clientSecret: '«pi_{A:24}_secret_{A:25}»'", "«seti_{A:24}_secret_{A:25}»"],
        ["pi_{A:24}", "client_secret_basic"],
    ),
    "ebay-oauth-token": (
        [
            "EBAY_OAUTH_TOKEN='«v^1.1#i^1#p^3#r^0#I^3#f^0#t^H4sI{b:120}»'",
            "«v^1.1#i^1#r^1#p^3#I^3#f^0#t^Ul4x{b:60}==»",
        ],
        ["v^1.1#i^1#p^3#r^1...", "v^1.1 of the spec"],
    ),
    "castai-api-key": (["CASTAI_API_TOKEN=«castai_v1_{A:64}_{A:8}»"], ["test_v1_{h:64}_{h:8}"]),
    "chieftools-token": (
        ["CHIEF_TOKEN=«ctp_{A:40}»", "«ctr_{A:64}»"],
        ["ctr_drbg_generate_with_additional_input", "cto_{A:8}"],
    ),
    "azure-data-factory-shir-key": (
        ["authKey: «IR@{uuid}@adf-acme-001@we@{b:43}=»"],
        ["IR@<guid>@<factory>@<region>@<key>"],
    ),
    "google-oauth-client-id": (
        ["GOOGLE_CLIENT_ID=«{d:12}-{a:32}.apps.googleusercontent.com»"],
        ["<project number>-<id>.apps.googleusercontent.com", "apps.googleusercontent.com"],
    ),
    "segment-public-api-token": (["SEGMENT_TOKEN=«sgp_{A:64}»"], ["sgp_{A:30}"]),
    "polar-token": (
        ["POLAR_ACCESS_TOKEN=«polar_oat_{A:43}»", "«polar_whs_{A:43}»"],
        ["polar_oat_...", "polar_coordinates_of_the_point"],
    ),
    "lightdash-token": (["LIGHTDASH_API_KEY=«ldpat_{h:32}»"], ["ldpat_secret"]),
    "unkey-root-key": (
        ["UNKEY_ROOT_KEY=«unkey_{A:24}»", "«unkey_{A:8}unkeyv1{A:42}»"],
        ["unkey_root", "unkey_xxxxxxxxxxxxxxxxxxxxxxxx"],
    ),
    "persona-api-key": (
        ["PERSONA_API_KEY=«persona_production_{uuid}»", "«persona_sandbox_{uuid}»"],
        ["persona_production_test", "persona_sandbox_*"],
    ),
    "linode-token": (
        ['linode token = "«{h:64}»"', "LINODE_SECRET=«{h:64}»"],
        ["linode: {h:32}", "linode build id: {h:64}"],
    ),
    "vultr-api-key": (
        ['vultr token = "«{U:36}»"', "VULTR_SECRET=«{U:36}»"],
        ["vultr: {U:18}", "vultr build id: {U:36}"],
    ),
    "hetzner-api-token": (
        ['hetzner token = "«{A:64}»"', "HETZNER_SECRET=«{A:64}»"],
        ["hetzner: {A:32}", "hetzner build id: {A:64}"],
    ),
    "ovh-credential": (
        ['ovh token = "«{A:32}»"', "OVH_SECRET=«{A:32}»"],
        ["ovh: {A:16}", "ovh build id: {A:32}"],
    ),
    "civo-api-key": (
        ['civo token = "«{A:50}»"', "CIVO_SECRET=«{A:50}»"],
        ["civo: {A:25}", "civo build id: {A:50}"],
    ),
    "scaleway-secret-key": (
        ['scaleway_secret token = "«{uuid}»"', "SCALEWAY_SECRET_SECRET=«{uuid}»"],
        ["scaleway_secret build id: {uuid}"],
    ),
    "exoscale-api-secret": (
        ['exoscale token = "«{u:43}»"', "EXOSCALE_SECRET=«{u:43}»"],
        ["exoscale: {u:21}", "exoscale build id: {u:43}"],
    ),
    "upcloud-password": (
        ['upcloud token = "«{A:24}»"', "UPCLOUD_SECRET=«{A:24}»"],
        ["upcloud build id: {A:24}"],
    ),
    "equinix-metal-token": (
        ['equinix token = "«{A:32}»"', "EQUINIX_SECRET=«{A:32}»"],
        ["equinix: {A:16}", "equinix build id: {A:32}"],
    ),
    "rackspace-api-key": (
        ['rackspace token = "«{h:32}»"', "RACKSPACE_SECRET=«{h:32}»"],
        ["rackspace: {h:16}", "rackspace build id: {h:32}"],
    ),
    "huawei-cloud-secret": (
        ['huawei token = "«{A:40}»"', "HUAWEI_SECRET=«{A:40}»"],
        ["huawei: {A:20}", "huawei build id: {A:40}"],
    ),
    "wasabi-secret-key": (
        ['wasabi token = "«{b:40}»"', "WASABI_SECRET=«{b:40}»"],
        ["wasabi: {b:20}", "wasabi build id: {b:40}"],
    ),
    "akamai-client-secret": (
        ['akamai token = "«{b:43}=»"', "AKAMAI_SECRET=«{b:43}=»"],
        ["akamai: {b:21}=", "akamai build id: {b:43}="],
    ),
    "railway-token": (
        ['railway_token token = "«{uuid}»"', "RAILWAY_TOKEN_SECRET=«{uuid}»"],
        ["railway_token build id: {uuid}"],
    ),
    "upstash-token": (
        ['upstash token = "«A{u:60}=»"', "UPSTASH_SECRET=«A{u:60}=»"],
        ["upstash: A{u:30}=", "upstash build id: A{u:60}="],
    ),
    "mongodb-atlas-key": (
        ['atlas_api token = "«{uuid}»"', "ATLAS_API_SECRET=«{uuid}»"],
        ["atlas_api: {h:8}-{h:4}", "atlas_api build id: {uuid}"],
    ),
    "confluent-api-secret": (
        ['confluent token = "«{b:64}»"', "CONFLUENT_SECRET=«{b:64}»"],
        ["confluent: {b:32}", "confluent build id: {b:64}"],
    ),
    "aiven-token": (
        ['aiven token = "«{b:372}»"', "AIVEN_SECRET=«{b:372}»"],
        ["aiven: {b:186}", "aiven build id: {b:372}"],
    ),
    "fauna-secret": (
        ['fauna token = "«fn{u:38}»"', "FAUNA_SECRET=«fn{u:38}»"],
        ["fauna: fn{u:19}", "fauna build id: fn{u:38}"],
    ),
    "hasura-admin-secret": (
        ['hasura token = "«{A:32}»"', "HASURA_SECRET=«{A:32}»"],
        ["hasura: {A:16}", "hasura build id: {A:32}"],
    ),
    "fivetran-api-secret": (
        ['fivetran token = "«{A:32}»"', "FIVETRAN_SECRET=«{A:32}»"],
        ["fivetran build id: {A:32}"],
    ),
    "airbyte-token": (
        ['airbyte token = "«{A:64}»"', "AIRBYTE_SECRET=«{A:64}»"],
        ["airbyte: {A:32}", "airbyte build id: {A:64}"],
    ),
    "azure-openai-key": (
        ['azure_openai token = "«{h:32}»"', "AZURE_OPENAI_SECRET=«{h:32}»"],
        ["azure_openai: {h:16}", "azure_openai build id: {h:32}"],
    ),
    "azure-cosmos-key": (
        ['cosmos token = "«{b:86}==»"', "COSMOS_SECRET=«{b:86}==»"],
        ["cosmos: {b:43}==", "cosmos build id: {b:86}=="],
    ),
    "azure-maps-key": (
        ['azure_maps token = "«{u:43}»"', "AZURE_MAPS_SECRET=«{u:43}»"],
        ["azure_maps: {u:21}", "azure_maps build id: {u:43}"],
    ),
    "azure-search-key": (
        ['search.windows.net token = "«{A:52}»"', "AZURE_SEARCH_SECRET=«{A:52}»"],
        ["search.windows.net: {A:26}", "search.windows.net build id: {A:52}"],
    ),
    "azure-function-key": (
        ['x-functions-key token = "«{u:54}==»"', "FUNCTION_KEY_SECRET=«{u:54}==»"],
        ["x-functions-key build id: {u:54}=="],
    ),
    "cohere-api-key-named": (
        ['co_api token = "«{A:40}»"', "CO_API_SECRET=«{A:40}»"],
        ["co_api: {A:20}", "co_api build id: {A:40}"],
    ),
    "ai21-api-key": (
        ['ai21 token = "«{A:32}»"', "AI21_SECRET=«{A:32}»"],
        ["ai21: {A:16}", "ai21 build id: {A:32}"],
    ),
    "assemblyai-api-key": (
        ['assembly_ai token = "«{h:32}»"', "ASSEMBLY_AI_SECRET=«{h:32}»"],
        ["assembly_ai: {h:16}", "assembly_ai build id: {h:32}"],
    ),
    "deepgram-api-key": (
        ['deepgram token = "«{h:40}»"', "DEEPGRAM_SECRET=«{h:40}»"],
        ["deepgram: {h:20}", "deepgram build id: {h:40}"],
    ),
    "gladia-api-key": (
        ['gladia_api token = "«{uuid}»"', "GLADIA_API_SECRET=«{uuid}»"],
        ["gladia_api: {h:8}-{h:4}", "gladia_api build id: {uuid}"],
    ),
    "clarifai-token": (
        ['clarifai token = "«{h:32}»"', "CLARIFAI_SECRET=«{h:32}»"],
        ["clarifai: {h:16}", "clarifai build id: {h:32}"],
    ),
    "runway-api-key": (
        ['runway token = "«key_{h:128}»"', "RUNWAY_SECRET=«key_{h:128}»"],
        ["runway: key_{h:64}", "runway build id: key_{h:128}"],
    ),
    "modal-token": (
        ['modal_token token = "«as-{A:22}»"', "MODAL_TOKEN_SECRET=«as-{A:22}»"],
        ["modal_token build id: as-{A:22}"],
    ),
    "baseten-api-key": (
        ['baseten token = "«{A:8}.{A:32}»"', "BASETEN_SECRET=«{A:8}.{A:32}»"],
        ["baseten: {A:4}.{A:16}", "baseten build id: {A:8}.{A:32}"],
    ),
    "weaviate-api-key": (
        ['weaviate token = "«{A:40}»"', "WEAVIATE_SECRET=«{A:40}»"],
        ["weaviate: {A:20}", "weaviate build id: {A:40}"],
    ),
    "qdrant-api-key": (
        ['qdrant token = "«{u:48}»"', "QDRANT_SECRET=«{u:48}»"],
        ["qdrant: {u:24}", "qdrant build id: {u:48}"],
    ),
    "portkey-api-key": (
        ['portkey token = "«{A:30}»"', "PORTKEY_SECRET=«{A:30}»"],
        ["portkey build id: {A:30}"],
    ),
    "serpapi-key": (
        ['serp_api token = "«{h:64}»"', "SERP_API_SECRET=«{h:64}»"],
        ["serp_api: {h:32}", "serp_api build id: {h:64}"],
    ),
    "exa-api-key": (
        ['exa_api token = "«{uuid}»"', "EXA_API_SECRET=«{uuid}»"],
        ["exa_api: {h:8}-{h:4}", "exa_api build id: {uuid}"],
    ),
    "brave-search-key": (
        ['brave_search token = "«BSA{u:28}»"', "BRAVE_SEARCH_SECRET=«BSA{u:28}»"],
        ["brave_search: BSA{u:14}", "brave_search build id: BSA{u:28}"],
    ),
    "openweather-api-key": (
        ['openweather token = "«{h:32}»"', "OPENWEATHER_SECRET=«{h:32}»"],
        ["openweather: {h:16}", "openweather build id: {h:32}"],
    ),
    "ipinfo-token": (
        ['ipinfo token = "«{h:14}»"', "IPINFO_SECRET=«{h:14}»"],
        ["ipinfo: {h:7}", "ipinfo build id: {h:14}"],
    ),
    "ipstack-key": (
        ['ipstack token = "«{h:32}»"', "IPSTACK_SECRET=«{h:32}»"],
        ["ipstack: {h:16}", "ipstack build id: {h:32}"],
    ),
    "alphavantage-key": (
        ['alpha_vantage token = "«{U:16}»"', "ALPHA_VANTAGE_SECRET=«{U:16}»"],
        ["alpha_vantage: {U:8}", "alpha_vantage build id: {U:16}"],
    ),
    "polygon-io-key": (
        ['polygon_api token = "«{A:32}»"', "POLYGON_API_SECRET=«{A:32}»"],
        ["polygon_api: {A:16}", "polygon_api build id: {A:32}"],
    ),
    "finnhub-token": (
        ['finnhub token = "«{a:20}»"', "FINNHUB_SECRET=«{a:20}»"],
        ["finnhub: {a:10}", "finnhub build id: {a:20}"],
    ),
    "newsapi-key": (
        ['news_api token = "«{h:32}»"', "NEWS_API_SECRET=«{h:32}»"],
        ["news_api: {h:16}", "news_api build id: {h:32}"],
    ),
    "shodan-api-key": (
        ['shodan token = "«{A:32}»"', "SHODAN_SECRET=«{A:32}»"],
        ["shodan: {A:16}", "shodan build id: {A:32}"],
    ),
    "censys-secret": (
        ['censys token = "«{A:32}»"', "CENSYS_SECRET=«{A:32}»"],
        ["censys: {A:16}", "censys build id: {A:32}"],
    ),
    "virustotal-api-key": (
        ['virus_total token = "«{h:64}»"', "VIRUS_TOTAL_SECRET=«{h:64}»"],
        ["virus_total: {h:32}", "virus_total build id: {h:64}"],
    ),
    "urlscan-api-key": (
        ['urlscan_api token = "«{uuid}»"', "URLSCAN_API_SECRET=«{uuid}»"],
        ["urlscan_api: {h:8}-{h:4}", "urlscan_api build id: {uuid}"],
    ),
    "abuseipdb-key": (
        ['abuseipdb token = "«{h:80}»"', "ABUSEIPDB_SECRET=«{h:80}»"],
        ["abuseipdb: {h:40}", "abuseipdb build id: {h:80}"],
    ),
    "hibp-api-key": (
        ['hibp token = "«{h:32}»"', "HIBP_SECRET=«{h:32}»"],
        ["hibp: {h:16}", "hibp build id: {h:32}"],
    ),
    "securitytrails-key": (
        ['securitytrails token = "«{A:32}»"', "SECURITYTRAILS_SECRET=«{A:32}»"],
        ["securitytrails: {A:16}", "securitytrails build id: {A:32}"],
    ),
    "hunter-io-key": (
        ['hunter_api token = "«{h:40}»"', "HUNTER_API_SECRET=«{h:40}»"],
        ["hunter_api: {h:20}", "hunter_api build id: {h:40}"],
    ),
    "crowdstrike-client-secret": (
        ['crowdstrike token = "«{A:40}»"', "CROWDSTRIKE_SECRET=«{A:40}»"],
        ["crowdstrike: {A:20}", "crowdstrike build id: {A:40}"],
    ),
    "lacework-secret": (
        ['lacework token = "«_{h:32}»"', "LACEWORK_SECRET=«_{h:32}»"],
        ["lacework: _{h:16}", "lacework build id: _{h:32}"],
    ),
    "wiz-client-secret": (
        ['wiz_ token = "«{A:64}»"', "WIZ_SECRET=«{A:64}»"],
        ["wiz_: {A:32}", "wiz_ build id: {A:64}"],
    ),
    "sentinelone-token": (
        ['sentinel_one token = "«{A:80}»"', "SENTINEL_ONE_SECRET=«{A:80}»"],
        ["sentinel_one: {A:40}", "sentinel_one build id: {A:80}"],
    ),
    "snyk-token-named": (
        [
            'snyk_token token = "«snyk_uat.{u:8}.{u:40}»"',
            "SNYK_TOKEN_SECRET=«snyk_uat.{u:8}.{u:40}»",
        ],
        ["snyk_token build id: snyk_uat.{u:8}.{u:40}"],
    ),
    "codecov-token": (
        ['codecov_token token = "«{uuid}»"', "CODECOV_TOKEN_SECRET=«{uuid}»"],
        ["codecov_token build id: {uuid}"],
    ),
    "codacy-token": (
        ['codacy token = "«{A:32}»"', "CODACY_SECRET=«{A:32}»"],
        ["codacy: {A:16}", "codacy build id: {A:32}"],
    ),
    "codeclimate-token": (
        ['code_climate token = "«{h:64}»"', "CODE_CLIMATE_SECRET=«{h:64}»"],
        ["code_climate: {h:32}", "code_climate build id: {h:64}"],
    ),
    "coveralls-token": (
        ['coveralls token = "«{A:32}»"', "COVERALLS_SECRET=«{A:32}»"],
        ["coveralls: {A:16}", "coveralls build id: {A:32}"],
    ),
    "deepsource-dsn": (
        ['deepsource token = "«dsp_{h:48}»"', "DEEPSOURCE_SECRET=«dsp_{h:48}»"],
        ["deepsource: dsp_{h:24}", "deepsource build id: dsp_{h:48}"],
    ),
    "semgrep-token": (
        ['semgrep token = "«{h:64}»"', "SEMGREP_SECRET=«{h:64}»"],
        ["semgrep: {h:32}", "semgrep build id: {h:64}"],
    ),
    "sauce-labs-access-key": (
        ['sauce_labs token = "«{uuid}»"', "SAUCE_LABS_SECRET=«{uuid}»"],
        ["sauce_labs: {h:8}-{h:4}", "sauce_labs build id: {uuid}"],
    ),
    "browserstack-access-key": (
        ['browserstack token = "«{A:20}»"', "BROWSERSTACK_SECRET=«{A:20}»"],
        ["browserstack: {A:10}", "browserstack build id: {A:20}"],
    ),
    "lambdatest-access-key": (
        ['lambdatest token = "«{A:50}»"', "LAMBDATEST_SECRET=«{A:50}»"],
        ["lambdatest: {A:25}", "lambdatest build id: {A:50}"],
    ),
    "percy-token": (
        ['percy_token token = "«{h:64}»"', "PERCY_TOKEN_SECRET=«{h:64}»"],
        ["percy_token build id: {h:64}"],
    ),
    "applitools-api-key": (
        ['applitools token = "«{A:45}»"', "APPLITOOLS_SECRET=«{A:45}»"],
        ["applitools: {A:22}", "applitools build id: {A:45}"],
    ),
    "cypress-record-key": (
        ['cypress_record token = "«{uuid}»"', "CYPRESS_RECORD_SECRET=«{uuid}»"],
        ["cypress_record: {h:8}-{h:4}", "cypress_record build id: {uuid}"],
    ),
    "chromatic-project-token": (
        ['chromatic token = "«chpt_{h:16}»"', "CHROMATIC_SECRET=«chpt_{h:16}»"],
        ["chromatic: chpt_{h:8}", "chromatic build id: chpt_{h:16}"],
    ),
    "expo-access-token": (
        ['expo_token token = "«{u:40}»"', "EXPO_TOKEN_SECRET=«{u:40}»"],
        ["expo_token build id: {u:40}"],
    ),
    "appcenter-token": (
        ['app_center token = "«{h:40}»"', "APP_CENTER_SECRET=«{h:40}»"],
        ["app_center: {h:20}", "app_center build id: {h:40}"],
    ),
    "bitrise-token": (
        ['bitrise token = "«{u:86}»"', "BITRISE_SECRET=«{u:86}»"],
        ["bitrise: {u:43}", "bitrise build id: {u:86}"],
    ),
    "drone-token": (
        ['drone_token token = "«{A:32}»"', "DRONE_TOKEN_SECRET=«{A:32}»"],
        ["drone_token build id: {A:32}"],
    ),
    "appveyor-token": (
        ['appveyor token = "«v2.{a:20}»"', "APPVEYOR_SECRET=«v2.{a:20}»"],
        ["appveyor: v2.{a:10}", "appveyor build id: v2.{a:20}"],
    ),
    "gitea-token": (
        ['gitea_token token = "«{h:40}»"', "GITEA_TOKEN_SECRET=«{h:40}»"],
        ["gitea_token build id: {h:40}"],
    ),
    "github-oauth-client-secret": (
        ['github_client_secret token = "«{h:40}»"', "GITHUB_CLIENT_SECRET_SECRET=«{h:40}»"],
        ["github_client_secret build id: {h:40}"],
    ),
    "gitlab-token-legacy": (
        ['gitlab token = "«{A:20}»"', "GITLAB_SECRET=«{A:20}»"],
        ["gitlab: {A:10}", "gitlab build id: {A:20}"],
    ),
    "jetbrains-space-token": (
        [
            'youtrack token = "«perm:{A:8}.{A:12}.{A:22}»"',
            "YOUTRACK_SECRET=«perm:{A:8}.{A:12}.{A:22}»",
        ],
        ["youtrack build id: perm:{A:8}.{A:12}.{A:22}"],
    ),
    "cloudsmith-api-key": (
        ['cloudsmith token = "«{h:40}»"', "CLOUDSMITH_SECRET=«{h:40}»"],
        ["cloudsmith: {h:20}", "cloudsmith build id: {h:40}"],
    ),
    "gemfury-token": (
        ['gemfury token = "«{A:20}»"', "GEMFURY_SECRET=«{A:20}»"],
        ["gemfury: {A:10}", "gemfury build id: {A:20}"],
    ),
    "anaconda-token": (
        ['anaconda token = "«ad-{uuid}»"', "ANACONDA_SECRET=«ad-{uuid}»"],
        ["anaconda: ad-{h:8}-{h:4}", "anaconda build id: ad-{uuid}"],
    ),
    "quay-token": (
        ['quay token = "«{U:64}»"', "QUAY_SECRET=«{U:64}»"],
        ["quay: {U:32}", "quay build id: {U:64}"],
    ),
    "sonatype-nexus-password": (
        ['nexus_password token = "«{A:44}»"', "NEXUS_PASSWORD_SECRET=«{A:44}»"],
        ["nexus_password build id: {A:44}"],
    ),
    "env0-api-secret": (
        ['env0 token = "«{u:32}»"', "ENV0_SECRET=«{u:32}»"],
        ["env0: {u:16}", "env0 build id: {u:32}"],
    ),
    "spacelift-api-secret": (
        ['spacelift token = "«{h:64}»"', "SPACELIFT_SECRET=«{h:64}»"],
        ["spacelift: {h:32}", "spacelift build id: {h:64}"],
    ),
    "rundeck-token": (
        ['rundeck token = "«{A:32}»"', "RUNDECK_SECRET=«{A:32}»"],
        ["rundeck: {A:16}", "rundeck build id: {A:32}"],
    ),
    "ansible-tower-token": (
        ['tower_ token = "«{A:30}»"', "TOWER_SECRET=«{A:30}»"],
        ["tower_: {A:15}", "tower_ build id: {A:30}"],
    ),
    "hcp-client-secret": (
        ['hcp_ token = "«{u:64}»"', "HCP_SECRET=«{u:64}»"],
        ["hcp_: {u:32}", "hcp_ build id: {u:64}"],
    ),
    "infisical-token": (
        [
            'infisical token = "«st.{uuid}.{h:32}.{h:32}»"',
            "INFISICAL_SECRET=«st.{uuid}.{h:32}.{h:32}»",
        ],
        ["infisical: st.{h:8}-{h:4}.{h:16}.{h:16}", "infisical build id: st.{uuid}.{h:32}.{h:32}"],
    ),
    "akeyless-access-key": (
        ['akeyless token = "«{b:44}»"', "AKEYLESS_SECRET=«{b:44}»"],
        ["akeyless build id: {b:44}"],
    ),
    "keeper-secret": (
        ['keeper_secret token = "«US:{u:43}»"', "KEEPER_SECRET_SECRET=«US:{u:43}»"],
        ["keeper_secret build id: US:{u:43}"],
    ),
    "doppler-token-named": (
        ['doppler token = "«dp.st.prd.{A:40}»"', "DOPPLER_SECRET=«dp.st.prd.{A:40}»"],
        ["doppler: dp.st.prd.{A:20}", "doppler build id: dp.st.prd.{A:40}"],
    ),
    "okta-client-secret": (
        ['okta token = "«{u:40}»"', "OKTA_SECRET=«{u:40}»"],
        ["okta: {u:20}", "okta build id: {u:40}"],
    ),
    "onelogin-client-secret": (
        ['onelogin token = "«{h:64}»"', "ONELOGIN_SECRET=«{h:64}»"],
        ["onelogin: {h:32}", "onelogin build id: {h:64}"],
    ),
    "jumpcloud-api-key": (
        ['jumpcloud token = "«{h:40}»"', "JUMPCLOUD_SECRET=«{h:40}»"],
        ["jumpcloud: {h:20}", "jumpcloud build id: {h:40}"],
    ),
    "duo-secret-key": (
        ['duo_skey token = "«{A:40}»"', "DUO_SKEY_SECRET=«{A:40}»"],
        ["duo_skey build id: {A:40}"],
    ),
    "ping-identity-secret": (
        ['pingone token = "«{u:64}»"', "PINGONE_SECRET=«{u:64}»"],
        ["pingone: {u:32}", "pingone build id: {u:64}"],
    ),
    "frontegg-secret": (
        ['frontegg_api token = "«{uuid}»"', "FRONTEGG_API_SECRET=«{uuid}»"],
        ["frontegg_api: {h:8}-{h:4}", "frontegg_api build id: {uuid}"],
    ),
    "descope-key": (
        ['descope token = "«K{A:27}:{A:48}»"', "DESCOPE_SECRET=«K{A:27}:{A:48}»"],
        ["descope: K{A:13}:{A:24}", "descope build id: K{A:27}:{A:48}"],
    ),
    "workos-api-key": (
        ['workos token = "«sk_{A:70}»"', "WORKOS_SECRET=«sk_{A:70}»"],
        ["workos: sk_{A:35}", "workos build id: sk_{A:70}"],
    ),
    "keycloak-client-secret": (
        ['keycloak token = "«{A:32}»"', "KEYCLOAK_SECRET=«{A:32}»"],
        ["keycloak build id: {A:32}"],
    ),
    "supertokens-api-key": (
        ['supertokens token = "«{A:40}»"', "SUPERTOKENS_SECRET=«{A:40}»"],
        ["supertokens build id: {A:40}"],
    ),
    "lightstep-token": (
        ['lightstep token = "«{A:32}»"', "LIGHTSTEP_SECRET=«{A:32}»"],
        ["lightstep: {A:16}", "lightstep build id: {A:32}"],
    ),
    "logzio-token": (
        ['logz token = "«{L:32}»"', "LOGZ_SECRET=«{L:32}»"],
        ["logz: {L:16}", "logz build id: {L:32}"],
    ),
    "loggly-token": (
        ['loggly_token token = "«{uuid}»"', "LOGGLY_TOKEN_SECRET=«{uuid}»"],
        ["loggly_token build id: {uuid}"],
    ),
    "sumologic-access-key": (
        ['sumo_logic token = "«{A:64}»"', "SUMO_LOGIC_SECRET=«{A:64}»"],
        ["sumo_logic: {A:32}", "sumo_logic build id: {A:64}"],
    ),
    "papertrail-token": (
        ['papertrail token = "«{A:20}»"', "PAPERTRAIL_SECRET=«{A:20}»"],
        ["papertrail: {A:10}", "papertrail build id: {A:20}"],
    ),
    "mezmo-key": (
        ['mezmo token = "«{h:32}»"', "MEZMO_SECRET=«{h:32}»"],
        ["mezmo: {h:16}", "mezmo build id: {h:32}"],
    ),
    "betterstack-token": (
        ['betterstack token = "«{A:24}»"', "BETTERSTACK_SECRET=«{A:24}»"],
        ["betterstack: {A:12}", "betterstack build id: {A:24}"],
    ),
    "opsgenie-api-key": (
        ['opsgenie_api token = "«{uuid}»"', "OPSGENIE_API_SECRET=«{uuid}»"],
        ["opsgenie_api: {h:8}-{h:4}", "opsgenie_api build id: {uuid}"],
    ),
    "victorops-api-key": (
        ['victorops_api token = "«{uuid}»"', "VICTOROPS_API_SECRET=«{uuid}»"],
        ["victorops_api: {h:8}-{h:4}", "victorops_api build id: {uuid}"],
    ),
    "squadcast-token": (
        ['squadcast token = "«{h:64}»"', "SQUADCAST_SECRET=«{h:64}»"],
        ["squadcast: {h:32}", "squadcast build id: {h:64}"],
    ),
    "incidentio-api-key": (
        ['incident.io token = "«inc_{A:48}»"', "INCIDENTIO_SECRET=«inc_{A:48}»"],
        ["incident.io: inc_{A:24}", "incident.io build id: inc_{A:48}"],
    ),
    "statuspage-api-key": (
        ['statuspage_api token = "«{uuid}»"', "STATUSPAGE_API_SECRET=«{uuid}»"],
        ["statuspage_api: {h:8}-{h:4}", "statuspage_api build id: {uuid}"],
    ),
    "uptimerobot-api-key": (
        ['uptimerobot token = "«ur{d:7}-{h:24}»"', "UPTIMEROBOT_SECRET=«ur{d:7}-{h:24}»"],
        ["uptimerobot: ur{d:3}-{h:12}", "uptimerobot build id: ur{d:7}-{h:24}"],
    ),
    "pingdom-token": (
        ['pingdom token = "«{u:72}»"', "PINGDOM_SECRET=«{u:72}»"],
        ["pingdom: {u:36}", "pingdom build id: {u:72}"],
    ),
    "airbrake-key": (
        ['airbrake token = "«{h:32}»"', "AIRBRAKE_SECRET=«{h:32}»"],
        ["airbrake: {h:16}", "airbrake build id: {h:32}"],
    ),
    "raygun-api-key": (
        ['raygun token = "«{A:22}»"', "RAYGUN_SECRET=«{A:22}»"],
        ["raygun: {A:11}", "raygun build id: {A:22}"],
    ),
    "appsignal-key": (
        ['appsignal_key token = "«{uuid}»"', "APPSIGNAL_KEY_SECRET=«{uuid}»"],
        ["appsignal_key build id: {uuid}"],
    ),
    "scout-apm-key": (
        ['scout_key token = "«{A:20}»"', "SCOUT_KEY_SECRET=«{A:20}»"],
        ["scout_key build id: {A:20}"],
    ),
    "instana-agent-key": (
        ['instana token = "«{u:22}»"', "INSTANA_SECRET=«{u:22}»"],
        ["instana: {u:11}", "instana build id: {u:22}"],
    ),
    "split-api-key": (
        ['split_io token = "«{a:36}»"', "SPLIT_IO_SECRET=«{a:36}»"],
        ["split_io: {a:18}", "split_io build id: {a:36}"],
    ),
    "unleash-token": (
        [
            'unleash token = "«default:production.{h:56}»"',
            "UNLEASH_SECRET=«default:production.{h:56}»",
        ],
        ["unleash: default:production.{h:28}", "unleash build id: default:production.{h:56}"],
    ),
    "flagsmith-key": (
        ['flagsmith token = "«ser.{A:22}»"', "FLAGSMITH_SECRET=«ser.{A:22}»"],
        ["flagsmith: ser.{A:11}", "flagsmith build id: ser.{A:22}"],
    ),
    "amplitude-api-key": (
        ['amplitude_api token = "«{h:32}»"', "AMPLITUDE_API_SECRET=«{h:32}»"],
        ["amplitude_api: {h:16}", "amplitude_api build id: {h:32}"],
    ),
    "mixpanel-secret": (
        ['mixpanel token = "«{h:32}»"', "MIXPANEL_SECRET=«{h:32}»"],
        ["mixpanel: {h:16}", "mixpanel build id: {h:32}"],
    ),
    "heap-api-key": (
        ['heap_api token = "«{h:32}»"', "HEAP_API_SECRET=«{h:32}»"],
        ["heap_api: {h:16}", "heap_api build id: {h:32}"],
    ),
    "fullstory-api-key": (
        ['fullstory token = "«na1.{b:64}»"', "FULLSTORY_SECRET=«na1.{b:64}»"],
        ["fullstory: na1.{b:32}", "fullstory build id: na1.{b:64}"],
    ),
    "hotjar-secret": (
        ['hotjar token = "«{A:64}»"', "HOTJAR_SECRET=«{A:64}»"],
        ["hotjar: {A:32}", "hotjar build id: {A:64}"],
    ),
    "pendo-key": (
        ['pendo token = "«{uuid}.us»"', "PENDO_SECRET=«{uuid}.us»"],
        ["pendo: {h:8}-{h:4}.us", "pendo build id: {uuid}.us"],
    ),
    "rudderstack-token": (
        ['rudder token = "«{A:27}»"', "RUDDER_SECRET=«{A:27}»"],
        ["rudder: {A:13}", "rudder build id: {A:27}"],
    ),
    "mailjet-api-key": (
        ['mailjet token = "«{h:32}»"', "MAILJET_SECRET=«{h:32}»"],
        ["mailjet: {h:16}", "mailjet build id: {h:32}"],
    ),
    "sparkpost-api-key": (
        ['sparkpost token = "«{h:40}»"', "SPARKPOST_SECRET=«{h:40}»"],
        ["sparkpost: {h:20}", "sparkpost build id: {h:40}"],
    ),
    "mailtrap-token": (
        ['mailtrap token = "«{h:32}»"', "MAILTRAP_SECRET=«{h:32}»"],
        ["mailtrap: {h:16}", "mailtrap build id: {h:32}"],
    ),
    "loops-api-key": (
        ['loops_api token = "«{h:32}»"', "LOOPS_API_SECRET=«{h:32}»"],
        ["loops_api: {h:16}", "loops_api build id: {h:32}"],
    ),
    "customerio-key": (
        ['customer.io token = "«{h:32}»"', "CUSTOMERIO_SECRET=«{h:32}»"],
        ["customer.io: {h:16}", "customer.io build id: {h:32}"],
    ),
    "elasticemail-api-key": (
        ['elastic_email token = "«{H:96}»"', "ELASTIC_EMAIL_SECRET=«{H:96}»"],
        ["elastic_email: {H:48}", "elastic_email build id: {H:96}"],
    ),
    "mailersend-key-named": (
        ['mailersend token = "«{A:64}»"', "MAILERSEND_SECRET=«{A:64}»"],
        ["mailersend: {A:32}", "mailersend build id: {A:64}"],
    ),
    "plivo-auth-token": (
        ['plivo token = "«{A:40}»"', "PLIVO_SECRET=«{A:40}»"],
        ["plivo: {A:20}", "plivo build id: {A:40}"],
    ),
    "messagebird-key": (
        ['messagebird token = "«{A:25}»"', "MESSAGEBIRD_SECRET=«{A:25}»"],
        ["messagebird: {A:12}", "messagebird build id: {A:25}"],
    ),
    "sinch-secret": (
        ['sinch token = "«{A:30}»"', "SINCH_SECRET=«{A:30}»"],
        ["sinch: {A:15}", "sinch build id: {A:30}"],
    ),
    "telnyx-api-key": (
        ['telnyx token = "«KEY{H:32}_{A:22}»"', "TELNYX_SECRET=«KEY{H:32}_{A:22}»"],
        ["telnyx: KEY{H:16}_{A:11}", "telnyx build id: KEY{H:32}_{A:22}"],
    ),
    "bandwidth-secret": (
        ['bandwidth_api token = "«{A:40}»"', "BANDWIDTH_API_SECRET=«{A:40}»"],
        ["bandwidth_api: {A:20}", "bandwidth_api build id: {A:40}"],
    ),
    "ringcentral-secret": (
        ['ringcentral token = "«{u:43}»"', "RINGCENTRAL_SECRET=«{u:43}»"],
        ["ringcentral: {u:21}", "ringcentral build id: {u:43}"],
    ),
    "agora-certificate": (
        ['agora token = "«{h:32}»"', "AGORA_SECRET=«{h:32}»"],
        ["agora: {h:16}", "agora build id: {h:32}"],
    ),
    "daily-api-key": (
        ['daily.co token = "«{h:64}»"', "DAILY_API_SECRET=«{h:64}»"],
        ["daily.co: {h:32}", "daily.co build id: {h:64}"],
    ),
    "mux-token-secret": (
        ['mux_ token = "«{b:75}»"', "MUX_SECRET=«{b:75}»"],
        ["mux_: {b:37}", "mux_ build id: {b:75}"],
    ),
    "vimeo-token": (
        ['vimeo token = "«{h:32}»"', "VIMEO_SECRET=«{h:32}»"],
        ["vimeo: {h:16}", "vimeo build id: {h:32}"],
    ),
    "wistia-token": (
        ['wistia token = "«{h:64}»"', "WISTIA_SECRET=«{h:64}»"],
        ["wistia: {h:32}", "wistia build id: {h:64}"],
    ),
    "pusher-secret": (
        ['pusher token = "«{h:20}»"', "PUSHER_SECRET=«{h:20}»"],
        ["pusher: {h:10}", "pusher build id: {h:20}"],
    ),
    "ably-api-key": (
        ['ably_api token = "«{A:6}.{A:6}:{u:43}»"', "ABLY_API_SECRET=«{A:6}.{A:6}:{u:43}»"],
        ["ably_api: {A:3}.{A:3}:{u:21}", "ably_api build id: {A:6}.{A:6}:{u:43}"],
    ),
    "stream-api-secret": (
        ['getstream token = "«{a:64}»"', "GETSTREAM_SECRET=«{a:64}»"],
        ["getstream: {a:32}", "getstream build id: {a:64}"],
    ),
    "sendbird-token": (
        ['sendbird token = "«{h:40}»"', "SENDBIRD_SECRET=«{h:40}»"],
        ["sendbird: {h:20}", "sendbird build id: {h:40}"],
    ),
    "zoom-secret": (
        ['zoom_client token = "«{A:32}»"', "ZOOM_CLIENT_SECRET=«{A:32}»"],
        ["zoom_client: {A:16}", "zoom_client build id: {A:32}"],
    ),
    "webex-token": (
        ['webex token = "«{A:64}_PF84_{uuid}»"', "WEBEX_SECRET=«{A:64}_PF84_{uuid}»"],
        ["webex: {A:32}_PF84_{h:8}-{h:4}", "webex build id: {A:64}_PF84_{uuid}"],
    ),
    "line-channel-token": (
        ['line_channel token = "«{b:172}=»"', "LINE_CHANNEL_SECRET=«{b:172}=»"],
        ["line_channel build id: {b:172}="],
    ),
    "twitter-api-secret": (
        ['twitter_api token = "«{A:50}»"', "TWITTER_API_SECRET=«{A:50}»"],
        ["twitter_api build id: {A:50}"],
    ),
    "linkedin-client-secret": (
        ['linkedin token = "«{A:16}»"', "LINKEDIN_SECRET=«{A:16}»"],
        ["linkedin: {A:8}", "linkedin build id: {A:16}"],
    ),
    "reddit-secret": (
        ['reddit token = "«{u:27}»"', "REDDIT_SECRET=«{u:27}»"],
        ["reddit: {u:13}", "reddit build id: {u:27}"],
    ),
    "tiktok-secret": (
        ['tiktok token = "«{A:32}»"', "TIKTOK_SECRET=«{A:32}»"],
        ["tiktok: {A:16}", "tiktok build id: {A:32}"],
    ),
    "snapchat-secret": (
        ['snapchat token = "«{u:43}»"', "SNAPCHAT_SECRET=«{u:43}»"],
        ["snapchat: {u:21}", "snapchat build id: {u:43}"],
    ),
    "spotify-secret": (
        ['spotify token = "«{h:32}»"', "SPOTIFY_SECRET=«{h:32}»"],
        ["spotify: {h:16}", "spotify build id: {h:32}"],
    ),
    "soundcloud-secret": (
        ['soundcloud token = "«{A:32}»"', "SOUNDCLOUD_SECRET=«{A:32}»"],
        ["soundcloud: {A:16}", "soundcloud build id: {A:32}"],
    ),
    "lastfm-secret": (
        ['last_fm token = "«{h:32}»"', "LAST_FM_SECRET=«{h:32}»"],
        ["last_fm: {h:16}", "last_fm build id: {h:32}"],
    ),
    "genius-token": (
        ['genius_token token = "«{u:64}»"', "GENIUS_TOKEN_SECRET=«{u:64}»"],
        ["genius_token build id: {u:64}"],
    ),
    "steam-api-key": (
        ['steam_api token = "«{H:32}»"', "STEAM_API_SECRET=«{H:32}»"],
        ["steam_api: {H:16}", "steam_api build id: {H:32}"],
    ),
    "twitch-client-secret": (
        ['twitch token = "«{a:30}»"', "TWITCH_SECRET=«{a:30}»"],
        ["twitch: {a:15}", "twitch build id: {a:30}"],
    ),
    "patreon-token": (
        ['patreon token = "«{u:43}»"', "PATREON_SECRET=«{u:43}»"],
        ["patreon: {u:21}", "patreon build id: {u:43}"],
    ),
    "etsy-key": (
        ['etsy token = "«{a:24}»"', "ETSY_SECRET=«{a:24}»"],
        ["etsy: {a:12}", "etsy build id: {a:24}"],
    ),
    "ebay-secret": (
        [
            'ebay token = "«PRD-{h:12}-{h:4}-{h:4}-{h:4}-{h:4}»"',
            "EBAY_SECRET=«PRD-{h:12}-{h:4}-{h:4}-{h:4}-{h:4}»",
        ],
        [
            "ebay: PRD-{h:6}-{h:2}-{h:2}-{h:2}-{h:2}",
            "ebay build id: PRD-{h:12}-{h:4}-{h:4}-{h:4}-{h:4}",
        ],
    ),
    "bigcommerce-token": (
        ['bigcommerce token = "«{a:31}»"', "BIGCOMMERCE_SECRET=«{a:31}»"],
        ["bigcommerce: {a:15}", "bigcommerce build id: {a:31}"],
    ),
    "woocommerce-key": (
        ['woocommerce token = "«cs_{h:40}»"', "WOOCOMMERCE_SECRET=«cs_{h:40}»"],
        ["woocommerce: cs_{h:20}", "woocommerce build id: cs_{h:40}"],
    ),
    "magento-token": (
        ['magento token = "«{a:32}»"', "MAGENTO_SECRET=«{a:32}»"],
        ["magento: {a:16}", "magento build id: {a:32}"],
    ),
    "recurly-api-key": (
        ['recurly token = "«{h:32}»"', "RECURLY_SECRET=«{h:32}»"],
        ["recurly: {h:16}", "recurly build id: {h:32}"],
    ),
    "chargebee-api-key": (
        ['chargebee token = "«live_{A:32}»"', "CHARGEBEE_SECRET=«live_{A:32}»"],
        ["chargebee: live_{A:16}", "chargebee build id: live_{A:32}"],
    ),
    "paddle-key-named": (
        ['paddle token = "«{h:50}»"', "PADDLE_SECRET=«{h:50}»"],
        ["paddle: {h:25}", "paddle build id: {h:50}"],
    ),
    "coinbase-secret": (
        ['coinbase token = "«{b:86}==»"', "COINBASE_SECRET=«{b:86}==»"],
        ["coinbase: {b:43}==", "coinbase build id: {b:86}=="],
    ),
    "binance-secret": (
        ['binance token = "«{A:64}»"', "BINANCE_SECRET=«{A:64}»"],
        ["binance: {A:32}", "binance build id: {A:64}"],
    ),
    "kraken-secret": (
        ['kraken token = "«{b:86}==»"', "KRAKEN_SECRET=«{b:86}==»"],
        ["kraken: {b:43}==", "kraken build id: {b:86}=="],
    ),
    "bitfinex-secret": (
        ['bitfinex token = "«{u:43}»"', "BITFINEX_SECRET=«{u:43}»"],
        ["bitfinex: {u:21}", "bitfinex build id: {u:43}"],
    ),
    "plaid-secret": (
        ['plaid token = "«{h:30}»"', "PLAID_SECRET=«{h:30}»"],
        ["plaid: {h:15}", "plaid build id: {h:30}"],
    ),
    "wise-api-token": (
        ['wise_api token = "«{uuid}»"', "WISE_API_SECRET=«{uuid}»"],
        ["wise_api: {h:8}-{h:4}", "wise_api build id: {uuid}"],
    ),
    "brex-token": (
        ['brex token = "«bxt_{A:36}»"', "BREX_SECRET=«bxt_{A:36}»"],
        ["brex: bxt_{A:18}", "brex build id: bxt_{A:36}"],
    ),
    "checkout-secret-key": (
        ['checkout token = "«sk_sbox_{a:28}»"', "CHECKOUT_SECRET=«sk_sbox_{a:28}»"],
        ["checkout: sk_sbox_{a:14}", "checkout build id: sk_sbox_{a:28}"],
    ),
    "authorize-net-key": (
        ['authorize.net token = "«{A:16}»"', "AUTHORIZENET_SECRET=«{A:16}»"],
        ["authorize.net build id: {A:16}"],
    ),
    "worldpay-key": (
        ['worldpay token = "«T_S_{uuid}»"', "WORLDPAY_SECRET=«T_S_{uuid}»"],
        ["worldpay: T_S_{h:8}-{h:4}", "worldpay build id: T_S_{uuid}"],
    ),
    "hubspot-api-key-legacy": (
        ['hapikey token = "«{uuid}»"', "HAPIKEY_SECRET=«{uuid}»"],
        ["hapikey build id: {uuid}"],
    ),
    "freshdesk-api-key": (
        ['freshdesk token = "«{A:20}»"', "FRESHDESK_SECRET=«{A:20}»"],
        ["freshdesk: {A:10}", "freshdesk build id: {A:20}"],
    ),
    "helpscout-key": (
        ['help_scout token = "«{h:32}»"', "HELP_SCOUT_SECRET=«{h:32}»"],
        ["help_scout: {h:16}", "help_scout build id: {h:32}"],
    ),
    "drift-token": (
        ['drift_ token = "«{A:32}»"', "DRIFT_SECRET=«{A:32}»"],
        ["drift_: {A:16}", "drift_ build id: {A:32}"],
    ),
    "pipedrive-token": (
        ['pipedrive token = "«{h:40}»"', "PIPEDRIVE_SECRET=«{h:40}»"],
        ["pipedrive: {h:20}", "pipedrive build id: {h:40}"],
    ),
    "attio-token": (
        ['attio token = "«{h:64}»"', "ATTIO_SECRET=«{h:64}»"],
        ["attio: {h:32}", "attio build id: {h:64}"],
    ),
    "copper-api-key": (
        ['copper_api token = "«{h:32}»"', "COPPER_API_SECRET=«{h:32}»"],
        ["copper_api: {h:16}", "copper_api build id: {h:32}"],
    ),
    "trello-api-key": (
        ['trello token = "«{h:64}»"', "TRELLO_SECRET=«{h:64}»"],
        ["trello build id: {h:64}"],
    ),
    "shortcut-token": (
        ['shortcut_api token = "«{uuid}»"', "SHORTCUT_API_SECRET=«{uuid}»"],
        ["shortcut_api: {h:8}-{h:4}", "shortcut_api build id: {uuid}"],
    ),
    "smartsheet-token": (
        ['smartsheet token = "«{A:37}»"', "SMARTSHEET_SECRET=«{A:37}»"],
        ["smartsheet: {A:18}", "smartsheet build id: {A:37}"],
    ),
    "todoist-token": (
        ['todoist token = "«{h:40}»"', "TODOIST_SECRET=«{h:40}»"],
        ["todoist: {h:20}", "todoist build id: {h:40}"],
    ),
    "basecamp-token": (
        ['basecamp token = "«{b:80}==»"', "BASECAMP_SECRET=«{b:80}==»"],
        ["basecamp build id: {b:80}=="],
    ),
    "miro-token": (
        ['miro token = "«{u:40}»"', "MIRO_SECRET=«{u:40}»"],
        ["miro: {u:20}", "miro build id: {u:40}"],
    ),
    "canva-secret": (
        ['canva_client token = "«cnvca{u:60}»"', "CANVA_CLIENT_SECRET=«cnvca{u:60}»"],
        ["canva_client: cnvca{u:30}", "canva_client build id: cnvca{u:60}"],
    ),
    "docusign-secret": (
        ['docusign_secret token = "«{uuid}»"', "DOCUSIGN_SECRET_SECRET=«{uuid}»"],
        ["docusign_secret build id: {uuid}"],
    ),
    "box-token": (
        ['box_client token = "«{A:32}»"', "BOX_CLIENT_SECRET=«{A:32}»"],
        ["box_client: {A:16}", "box_client build id: {A:32}"],
    ),
    "surveymonkey-token": (
        ['surveymonkey token = "«{A:80}»"', "SURVEYMONKEY_SECRET=«{A:80}»"],
        ["surveymonkey build id: {A:80}"],
    ),
    "calendly-token": (
        ['calendly token = "«{U:32}»"', "CALENDLY_SECRET=«{U:32}»"],
        ["calendly: {U:16}", "calendly build id: {U:32}"],
    ),
    "sanity-token": (
        ['sanity_token token = "«sk{A:180}»"', "SANITY_TOKEN_SECRET=«sk{A:180}»"],
        ["sanity_token build id: sk{A:180}"],
    ),
    "storyblok-token": (
        ['storyblok token = "«{A:22}tt»"', "STORYBLOK_SECRET=«{A:22}tt»"],
        ["storyblok: {A:11}tt", "storyblok build id: {A:22}tt"],
    ),
    "datocms-token": (
        ['datocms token = "«{h:30}»"', "DATOCMS_SECRET=«{h:30}»"],
        ["datocms: {h:15}", "datocms build id: {h:30}"],
    ),
    "strapi-token": (
        ['strapi token = "«{h:256}»"', "STRAPI_SECRET=«{h:256}»"],
        ["strapi: {h:128}", "strapi build id: {h:256}"],
    ),
    "ghost-admin-key": (
        ['ghost token = "«{h:24}:{h:64}»"', "GHOST_SECRET=«{h:24}:{h:64}»"],
        ["ghost: {h:12}:{h:32}", "ghost build id: {h:24}:{h:64}"],
    ),
    "webflow-token": (
        ['webflow token = "«{h:64}»"', "WEBFLOW_SECRET=«{h:64}»"],
        ["webflow: {h:32}", "webflow build id: {h:64}"],
    ),
    "prismic-token": (
        ['prismic token = "«MC5{u:80}»"', "PRISMIC_SECRET=«MC5{u:80}»"],
        ["prismic: MC5{u:40}", "prismic build id: MC5{u:80}"],
    ),
    "typesense-api-key": (
        ['typesense token = "«{A:32}»"', "TYPESENSE_SECRET=«{A:32}»"],
        ["typesense: {A:16}", "typesense build id: {A:32}"],
    ),
    "meilisearch-key": (
        ['meili token = "«{u:44}»"', "MEILI_SECRET=«{u:44}»"],
        ["meili: {u:22}", "meili build id: {u:44}"],
    ),
    "elasticsearch-api-key": (
        ['elastic_api token = "«{b:58}==»"', "ELASTIC_API_SECRET=«{b:58}==»"],
        ["elastic_api: {b:29}==", "elastic_api build id: {b:58}=="],
    ),
    "here-api-key": (
        ['here_api token = "«{u:43}»"', "HERE_API_SECRET=«{u:43}»"],
        ["here_api: {u:21}", "here_api build id: {u:43}"],
    ),
    "tomtom-api-key": (
        ['tomtom token = "«{A:32}»"', "TOMTOM_SECRET=«{A:32}»"],
        ["tomtom: {A:16}", "tomtom build id: {A:32}"],
    ),
    "mapquest-key": (
        ['mapquest token = "«{A:32}»"', "MAPQUEST_SECRET=«{A:32}»"],
        ["mapquest: {A:16}", "mapquest build id: {A:32}"],
    ),
    "locationiq-token": (
        ['locationiq token = "«pk.{h:32}»"', "LOCATIONIQ_SECRET=«pk.{h:32}»"],
        ["locationiq: pk.{h:16}", "locationiq build id: pk.{h:32}"],
    ),
    "imgur-client-secret": (
        ['imgur token = "«{h:40}»"', "IMGUR_SECRET=«{h:40}»"],
        ["imgur: {h:20}", "imgur build id: {h:40}"],
    ),
    "cloudinary-secret": (
        ['cloudinary token = "«{u:27}»"', "CLOUDINARY_SECRET=«{u:27}»"],
        ["cloudinary: {u:13}", "cloudinary build id: {u:27}"],
    ),
    "uploadcare-secret": (
        ['uploadcare token = "«{h:20}»"', "UPLOADCARE_SECRET=«{h:20}»"],
        ["uploadcare: {h:10}", "uploadcare build id: {h:20}"],
    ),
    "filestack-key": (
        ['filestack token = "«{A:22}»"', "FILESTACK_SECRET=«{A:22}»"],
        ["filestack: {A:11}", "filestack build id: {A:22}"],
    ),
    "unsplash-key": (
        ['unsplash token = "«{u:43}»"', "UNSPLASH_SECRET=«{u:43}»"],
        ["unsplash: {u:21}", "unsplash build id: {u:43}"],
    ),
    "giphy-api-key": (
        ['giphy token = "«{A:32}»"', "GIPHY_SECRET=«{A:32}»"],
        ["giphy: {A:16}", "giphy build id: {A:32}"],
    ),
    "pexels-api-key": (
        ['pexels token = "«{A:56}»"', "PEXELS_SECRET=«{A:56}»"],
        ["pexels: {A:28}", "pexels build id: {A:56}"],
    ),
    "nasa-api-key": (
        ['nasa token = "«{A:40}»"', "NASA_SECRET=«{A:40}»"],
        ["nasa: {A:20}", "nasa build id: {A:40}"],
    ),
    "rapidapi-key": (
        ['rapid_api token = "«{A:50}»"', "RAPID_API_SECRET=«{A:50}»"],
        ["rapid_api: {A:25}", "rapid_api build id: {A:50}"],
    ),
    "zapier-key": (
        ['zapier token = "«sk-ak-{A:32}»"', "ZAPIER_SECRET=«sk-ak-{A:32}»"],
        ["zapier: sk-ak-{A:16}", "zapier build id: sk-ak-{A:32}"],
    ),
    "ifttt-key": (
        ['ifttt token = "«{u:22}»"', "IFTTT_SECRET=«{u:22}»"],
        ["ifttt: {u:11}", "ifttt build id: {u:22}"],
    ),
    "make-api-token": (
        ['integromat token = "«{uuid}»"', "INTEGROMAT_SECRET=«{uuid}»"],
        ["integromat: {h:8}-{h:4}", "integromat build id: {uuid}"],
    ),
    "pipedream-key": (
        ['pipedream token = "«{h:32}»"', "PIPEDREAM_SECRET=«{h:32}»"],
        ["pipedream: {h:16}", "pipedream build id: {h:32}"],
    ),
    "n8n-api-key": (
        ['n8n token = "«n8n_api_{h:64}»"', "N8N_SECRET=«n8n_api_{h:64}»"],
        ["n8n: n8n_api_{h:32}", "n8n build id: n8n_api_{h:64}"],
    ),
    "discourse-api-key": (
        ['discourse token = "«{h:64}»"', "DISCOURSE_SECRET=«{h:64}»"],
        ["discourse: {h:32}", "discourse build id: {h:64}"],
    ),
    "disqus-secret": (
        ['disqus token = "«{A:64}»"', "DISQUS_SECRET=«{A:64}»"],
        ["disqus: {A:32}", "disqus build id: {A:64}"],
    ),
    "zulip-api-key": (
        ['zulip token = "«{A:32}»"', "ZULIP_SECRET=«{A:32}»"],
        ["zulip: {A:16}", "zulip build id: {A:32}"],
    ),
    "rocketchat-token": (
        ['rocket_chat token = "«{u:43}»"', "ROCKET_CHAT_SECRET=«{u:43}»"],
        ["rocket_chat: {u:21}", "rocket_chat build id: {u:43}"],
    ),
    "gitter-token": (
        ['gitter token = "«{h:40}»"', "GITTER_SECRET=«{h:40}»"],
        ["gitter: {h:20}", "gitter build id: {h:40}"],
    ),
    "bitly-token": (
        ['bitly token = "«{h:40}»"', "BITLY_SECRET=«{h:40}»"],
        ["bitly: {h:20}", "bitly build id: {h:40}"],
    ),
    "rebrandly-key": (
        ['rebrandly token = "«{h:32}»"', "REBRANDLY_SECRET=«{h:32}»"],
        ["rebrandly: {h:16}", "rebrandly build id: {h:32}"],
    ),
    "aftership-key": (
        ['aftership token = "«asat_{h:32}»"', "AFTERSHIP_SECRET=«asat_{h:32}»"],
        ["aftership: asat_{h:16}", "aftership build id: asat_{h:32}"],
    ),
    "shipengine-key": (
        ['shipengine token = "«TEST_{b:43}»"', "SHIPENGINE_SECRET=«TEST_{b:43}»"],
        ["shipengine: TEST_{b:21}", "shipengine build id: TEST_{b:43}"],
    ),
    "ups-secret": (['ups_ token = "«{A:64}»"', "UPS_SECRET=«{A:64}»"], ["ups_ build id: {A:64}"]),
    "google-oauth-secret-named": (
        ['google_client_secret token = "«{u:24}»"', "GOOGLE_CLIENT_SECRET_SECRET=«{u:24}»"],
        ["google_client_secret build id: {u:24}"],
    ),
    "apple-app-password": (
        [
            'apple_id token = "«{l:4}-{l:4}-{l:4}-{l:4}»"',
            "APPLE_ID_SECRET=«{l:4}-{l:4}-{l:4}-{l:4}»",
        ],
        ["apple_id: {l:2}-{l:2}-{l:2}-{l:2}", "apple_id build id: {l:4}-{l:4}-{l:4}-{l:4}"],
    ),
    "unity-serial": (
        [
            'unity_serial token = "«{U:2}-{U:4}-{U:4}-{U:4}-{U:4}-{U:4}»"',
            "UNITY_SERIAL_SECRET=«{U:2}-{U:4}-{U:4}-{U:4}-{U:4}-{U:4}»",
        ],
        [
            "unity_serial: {U:1}-{U:2}-{U:2}-{U:2}-{U:2}-{U:2}",
            "unity_serial build id: {U:2}-{U:4}-{U:4}-{U:4}-{U:4}-{U:4}",
        ],
    ),
    "ethereum-private-key": (
        ['private_key token = "«0x{h:64}»"', "PRIVATE_KEY_SECRET=«0x{h:64}»"],
        ["private_key build id: 0x{h:64}"],
    ),
    "infura-key": (
        ['infura token = "«{h:32}»"', "INFURA_SECRET=«{h:32}»"],
        ["infura: {h:16}", "infura build id: {h:32}"],
    ),
    "openai-key-named": (
        ['openai token = "«sk-{A:40}»"', "OPENAI_SECRET=«sk-{A:40}»"],
        ["openai build id: sk-{A:40}"],
    ),
    "replicate-key-named": (
        ['replicate token = "«{h:40}»"', "REPLICATE_SECRET=«{h:40}»"],
        ["replicate: {h:20}", "replicate build id: {h:40}"],
    ),
    "pinecone-key-named": (
        ['pinecone_api token = "«{uuid}»"', "PINECONE_API_SECRET=«{uuid}»"],
        ["pinecone_api: {h:8}-{h:4}", "pinecone_api build id: {uuid}"],
    ),
    "elevenlabs-key-named": (
        ['eleven_labs token = "«{h:32}»"', "ELEVEN_LABS_SECRET=«{h:32}»"],
        ["eleven_labs: {h:16}", "eleven_labs build id: {h:32}"],
    ),
    "wandb-key-named": (
        ['wandb token = "«local-{h:40}»"', "WANDB_SECRET=«local-{h:40}»"],
        ["wandb: local-{h:20}", "wandb build id: local-{h:40}"],
    ),
    "deepinfra-key": (
        ['deepinfra token = "«{A:32}»"', "DEEPINFRA_SECRET=«{A:32}»"],
        ["deepinfra: {A:16}", "deepinfra build id: {A:32}"],
    ),
    "novita-key": (
        ['novita token = "«{A:40}»"', "NOVITA_SECRET=«{A:40}»"],
        ["novita: {A:20}", "novita build id: {A:40}"],
    ),
    "sentry-key-named": (
        ['sentry_key token = "«{h:32}»"', "SENTRY_KEY_SECRET=«{h:32}»"],
        ["sentry_key build id: {h:32}"],
    ),
    "new-relic-key-named": (
        ['newrelic token = "«{h:40}»"', "NEWRELIC_SECRET=«{h:40}»"],
        ["newrelic: {h:20}", "newrelic build id: {h:40}"],
    ),
    "splunk-token-named": (
        ['splunk token = "«{A:32}»"', "SPLUNK_SECRET=«{A:32}»"],
        ["splunk: {A:16}", "splunk build id: {A:32}"],
    ),
    "pagerduty-key-named": (
        ['pagerduty token = "«{h:32}»"', "PAGERDUTY_SECRET=«{h:32}»"],
        ["pagerduty: {h:16}", "pagerduty build id: {h:32}"],
    ),
    "slack-signing-secret": (
        ['slack_signing token = "«{h:32}»"', "SLACK_SIGNING_SECRET=«{h:32}»"],
        ["slack_signing: {h:16}", "slack_signing build id: {h:32}"],
    ),
    "discord-secret": (
        ['discord_client token = "«{u:32}»"', "DISCORD_CLIENT_SECRET=«{u:32}»"],
        ["discord_client: {u:16}", "discord_client build id: {u:32}"],
    ),
    "shopify-key-named": (
        ['shopify token = "«{h:32}»"', "SHOPIFY_SECRET=«{h:32}»"],
        ["shopify: {h:16}", "shopify build id: {h:32}"],
    ),
    "salesforce-key-named": (
        ['salesforce token = "«{H:64}»"', "SALESFORCE_SECRET=«{H:64}»"],
        ["salesforce: {H:32}", "salesforce build id: {H:64}"],
    ),
    "contentful-key-named": (
        ['contentful token = "«{u:43}»"', "CONTENTFUL_SECRET=«{u:43}»"],
        ["contentful: {u:21}", "contentful build id: {u:43}"],
    ),
    "dropbox-key-named": (
        ['dropbox token = "«{a:15}»"', "DROPBOX_SECRET=«{a:15}»"],
        ["dropbox: {a:7}", "dropbox build id: {a:15}"],
    ),
    "npm-token-named": (
        ['npm_token token = "«{uuid}»"', "NPM_TOKEN_SECRET=«{uuid}»"],
        ["npm_token build id: {uuid}"],
    ),
    "digitalocean-key-named": (
        ['digitalocean token = "«{h:64}»"', "DIGITALOCEAN_SECRET=«{h:64}»"],
        ["digitalocean: {h:32}", "digitalocean build id: {h:64}"],
    ),
    "netlify-key-named": (
        ['netlify token = "«{u:43}»"', "NETLIFY_SECRET=«{u:43}»"],
        ["netlify: {u:21}", "netlify build id: {u:43}"],
    ),
    "aws-secret-named": (
        ['aws_secret token = "«{b:40}»"', "AWS_SECRET_SECRET=«{b:40}»"],
        ["aws_secret build id: {b:40}"],
    ),
    "azure-secret-named": (
        ['azure token = "«{b:86}==»"', "AZURE_SECRET=«{b:86}==»"],
        ["azure: {b:43}==", "azure build id: {b:86}=="],
    ),
    "yandex-key-named": (
        ['yandex token = "«YC{u:38}»"', "YANDEX_SECRET=«YC{u:38}»"],
        ["yandex: YC{u:19}", "yandex build id: YC{u:38}"],
    ),
    "bitbucket-key-named": (
        ['bitbucket token = "«{A:20}»"', "BITBUCKET_SECRET=«{A:20}»"],
        ["bitbucket: {A:10}", "bitbucket build id: {A:20}"],
    ),
    "sonar-key-named": (
        ['sonar_token token = "«{h:40}»"', "SONAR_TOKEN_SECRET=«{h:40}»"],
        ["sonar_token build id: {h:40}"],
    ),
    "mollie-key-named": (
        ['mollie token = "«test_{A:30}»"', "MOLLIE_SECRET=«test_{A:30}»"],
        ["mollie: test_{A:15}", "mollie build id: test_{A:30}"],
    ),
    "lob-key-named": (
        ['lob_ token = "«test_{h:35}»"', "LOB_SECRET=«test_{h:35}»"],
        ["lob_: test_{h:17}", "lob_ build id: test_{h:35}"],
    ),
    "razorpay-key-named": (
        ['razorpay token = "«{A:24}»"', "RAZORPAY_SECRET=«{A:24}»"],
        ["razorpay: {A:12}", "razorpay build id: {A:24}"],
    ),
    "adobe-key-named": (
        ['adobe token = "«{h:32}»"', "ADOBE_SECRET=«{h:32}»"],
        ["adobe: {h:16}", "adobe build id: {h:32}"],
    ),
    "hex-key-named": (
        ['hex_api token = "«{h:32}»"', "HEX_API_SECRET=«{h:32}»"],
        ["hex_api: {h:16}", "hex_api build id: {h:32}"],
    ),
    "sourcegraph-key-named": (
        ['sourcegraph token = "«{h:40}»"', "SOURCEGRAPH_SECRET=«{h:40}»"],
        ["sourcegraph: {h:20}", "sourcegraph build id: {h:40}"],
    ),
    "asana-client-secret": (
        ['asana token = "«{A:32}»"', "ASANA_SECRET=«{A:32}»"],
        ["asana: {A:16}", "asana build id: {A:32}"],
    ),
    "beamer-api-key": (
        ['beamer token = "«b_{u:44}»"', "BEAMER_SECRET=«b_{u:44}»"],
        ["beamer: b_{u:22}", "beamer build id: b_{u:44}"],
    ),
    "bittrex-secret": (
        ['bittrex token = "«{h:32}»"', "BITTREX_SECRET=«{h:32}»"],
        ["bittrex: {h:16}", "bittrex build id: {h:32}"],
    ),
    "meraki-api-key": (
        ['meraki token = "«{h:40}»"', "MERAKI_SECRET=«{h:40}»"],
        ["meraki: {h:20}", "meraki build id: {h:40}"],
    ),
    "finicity-secret": (
        ['finicity token = "«{h:32}»"', "FINICITY_SECRET=«{h:32}»"],
        ["finicity: {h:16}", "finicity build id: {h:32}"],
    ),
    "flickr-key": (
        ['flickr token = "«{h:32}»"', "FLICKR_SECRET=«{h:32}»"],
        ["flickr: {h:16}", "flickr build id: {h:32}"],
    ),
    "freshbooks-token": (
        ['freshbooks token = "«{h:64}»"', "FRESHBOOKS_SECRET=«{h:64}»"],
        ["freshbooks: {h:32}", "freshbooks build id: {h:64}"],
    ),
    "kucoin-secret": (
        ['kucoin token = "«{uuid}»"', "KUCOIN_SECRET=«{uuid}»"],
        ["kucoin: {h:8}-{h:4}", "kucoin build id: {uuid}"],
    ),
    "looker-client-secret": (
        ['looker token = "«{A:24}»"', "LOOKER_SECRET=«{A:24}»"],
        ["looker: {A:12}", "looker build id: {A:24}"],
    ),
    "nytimes-api-key": (
        ['nytimes token = "«{A:32}»"', "NYTIMES_SECRET=«{A:32}»"],
        ["nytimes: {A:16}", "nytimes build id: {A:32}"],
    ),
    "privateai-api-key": (
        ['private_ai token = "«{h:32}»"', "PRIVATE_AI_SECRET=«{h:32}»"],
        ["private_ai: {h:16}", "private_ai build id: {h:32}"],
    ),
    "squarespace-api-key": (
        ['squarespace token = "«{uuid}»"', "SQUARESPACE_SECRET=«{uuid}»"],
        ["squarespace: {h:8}-{h:4}", "squarespace build id: {uuid}"],
    ),
    "harvest-token": (
        ['harvest_token token = "«{d:7}.pt.{u:86}»"', "HARVEST_TOKEN_SECRET=«{d:7}.pt.{u:86}»"],
        ["harvest_token build id: {d:7}.pt.{u:86}"],
    ),
    "coda-api-token": (
        ['coda_api token = "«{uuid}»"', "CODA_API_SECRET=«{uuid}»"],
        ["coda_api: {h:8}-{h:4}", "coda_api build id: {uuid}"],
    ),
    "kaggle-key": (
        ['kaggle token = "«{h:32}»"', "KAGGLE_SECRET=«{h:32}»"],
        ["kaggle: {h:16}", "kaggle build id: {h:32}"],
    ),
    "influxdb-token": (
        ['influx token = "«{u:86}==»"', "INFLUX_SECRET=«{u:86}==»"],
        ["influx: {u:43}==", "influx build id: {u:86}=="],
    ),
    "jfrog-identity-token": (
        ['jfrog token = "«{A:64}»"', "JFROG_SECRET=«{A:64}»"],
        ["jfrog: {A:32}", "jfrog build id: {A:64}"],
    ),
    "neptune-token-named": (
        ['neptune token = "«{b:120}==»"', "NEPTUNE_SECRET=«{b:120}==»"],
        ["neptune build id: {b:120}=="],
    ),
    "saas-api-key": (
        [
            "airship api key: «{A:8}{d:4}{A:20}»",
            "zerobounce token «{A:12}{d:2}{A:12}»",
            "CLOCKIFY_API_KEY=«{a:20}{d:2}{a:26}»",
            "zerobounce secret «{h:32}»",
            'eventbrite.setToken("«{U:12}{d:2}{U:6}»")',
        ],
        [
            "clockify api key: <your key>",
            "getresponse token is documentation-only",
            "airship build id: {A:8}{d:4}{A:20}",
            "clockify = {A:20}{d:4}",
        ],
    ),
    # ---- end of providers (round 2)
    "generic-call-argument": (
        ['System.setProperty("API_TOKEN", "«{A:24}»");', 'headers.set("x-api-key", "«{A:32}»")'],
        [
            'System.setProperty("API_TOKEN", System.getenv("T"));',
            'headers.set("x-api-key", "${API_KEY}")',
        ],
    ),
    "jwt": (
        ["«eyJhbGciOiJIUzI1NiJ9.eyJ{u:60}.{u:43}»", "Cookie: session=«eyJ{u:20}.eyJ{u:40}.{u:43}»"],
        ["eyJ alone is a base64 prefix", "eyJhbGciOiJIUzI1NiJ9"],
    ),
    "authorization-header": (
        [
            'curl -H "Authorization: Basic «{b:28}=»" https://api.acme.dev',
            "Authorization: token «{h:40}»",
        ],
        ['curl -H "Authorization: Bearer $TOKEN"', "Authorization: Basic <base64>"],
    ),
    "bearer-token": (
        [
            "requests.get(url, headers={{'x': 'Bearer «{u:40}»'}})".replace("{{", "{").replace(
                "}}", "}"
            )
        ],
        ["bearer of bad news", "Bearer ${TOKEN}"],
    ),
    "api-key-header": (
        ["X-Api-Key: «{A:32}»", "curl -H 'api-key: «{h:32}»'"],
        ["X-Api-Key: <your key>", "X-Api-Key: ${API_KEY}"],
    ),
    "url-credentials": (
        [
            "postgres://app:«{A:16}»@db.internal:5432/app",
            "mongodb+srv://admin:«{A:12}»@cluster0.abcde.mongodb.net/db",
            "redis://:«{A:20}»@cache:6379/0",
            "amqp://guest:«{A:14}»@rabbit:5672/",
            "https://deploy:«{A:16}»@git.example.com/acme/x.git",
        ],
        [
            "https://example.com/path?a=b",
            "postgres://app:${DB_PASSWORD}@db/app",
            "mailto:ops@example.com",
            "git@github.com:acme/x.git",
        ],
    ),
    "jdbc-password": (
        [
            "jdbc:sqlserver://db:1433;databaseName=app;user=sa;password=«{A:14}»;",
            "jdbc:mysql://db:3306/app?user=app&password=«{A:14}»",
        ],
        ["jdbc:postgresql://db/app"],
    ),
    "jdbc-oracle-password": (
        ["jdbc:oracle:thin:scott/«{A:12}»@db:1521:orcl"],
        ["jdbc:oracle:thin:@db:1521:orcl"],
    ),
    "connection-string-password": (
        [
            "Server=tcp:db,1433;Database=app;User Id=sa;Password=«{A:14}!»;",
            "Driver={{ODBC Driver 18}};Server=db;Uid=app;Pwd=«{A:12}»;".replace("{{", "{").replace(
                "}}", "}"
            ),
        ],
        [
            "Server=db;Database=app;Integrated Security=true;",
            "Server=db;User Id=sa;Password=${DB_PASSWORD};",
        ],
    ),
    "connection-string-password-leading": (
        ["Password=«{A:14}»;Server=db;Database=app"],
        ["Password=;Server=db"],
    ),
    "mysql-cli-password": (["mysql -u root -p«{A:12}» app < dump.sql"], ["mysql -u root -p app"]),
    "curl-user-password": (
        [
            "curl -u deploy:«{A:16}» https://api.acme.dev/v1",
            "curl --user 'ops:«{A:14}»' -X POST https://x",
        ],
        ["curl -u deploy https://api.acme.dev", "curl -u $USER:$PASSWORD https://x"],
    ),
    "netrc-password": (
        ["machine api.heroku.com login ops@acme.dev password «{A:20}»"],
        ["machine learning models"],
    ),
    "htpasswd-entry": (["admin:«$apr1${A:8}${c:22}»", "deploy:«$2y$10${c:53}»"], ["admin:x"]),
    # ---- credentials in commands and structures (round 2)
    "private-key-body": (
        [
            'const key = "«MIIEvQIBADANBgkqhkiG9w0BAQEFAASC{b:32}" +\n    "{b:64}" +\n    "{b:64}»";',
            "«MIIEowIBAAKCAQEA{b:48}\n{b:64}\n{b:40}==»",
            "#6 0.245 «MIICXQIBAAKBgQ{b:50}\n#6 0.246 {b:64}\n#6 0.246 {b:64}»",
            "«b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ{b:22}\n{b:70}»",
            "«MHcCAQEEI{b:55}\n{b:64}»",
            "«MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg{b:16}\n{b:64}»",
            "«MC4CAQAwBQYDK2VwBCIEI{b:27}»",
            "«MIIFLTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI{b:16}\n{b:64}»",
            "P12_BASE64=«MIIKPAIBAzCCCfYGCSqGSIb3DQEHAaCCCecEggnjMIIJ3zCCBg{b:64}»",
        ],
        [
            "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA{b:40} (a public key)",
            "MIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ (a certificate)",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{b:43} deploy@ci",
        ],
    ),
    "private-key-base64": (
        [
            "data:\n  tls.key: «LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUV2UUlCQURBTkJna3Foa2lHOXcwQkFRRUZBQVND{b:120}»",
            "SSH_KEY_B64=«LS0tLS1CRUdJTiBPUEVOU1NIIFBSSVZBVEUgS0VZLS0tLS0K{b:76}\n{b:76}\n{b:40}==»",
            "«LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlF{b:200}»",
        ],
        [
            "  ca.crt: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM{b:80}",
            "LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0K{b:80}",
        ],
    ),
    "password-hash": (
        [
            "hash: «$6${c:8}${c:86}»",
            "«$1${c:8}${c:22}»",
            "«$2b$12${c:53}»",
            "«$5$rounds=535000${c:16}${c:43}»",
            "«$y$j9T${c:22}${c:43}»",
            "«$argon2id$v=19$m=65536,t=3,p=4${b:22}${b:43}»",
            "«$pbkdf2-sha256$29000${c:22}${c:43}»",
            "«$P${c:31}»",
            "«$krb5asrep$23$svc_backup@CORP.LOCAL:{h:32}${h:300}»",
            "«$krb5tgs$23$*sqlsvc$CORP.LOCAL$MSSQLSvc/db01*${h:32}${h:400}»",
            "userPassword: «{SSHA}{b:40}»",
            "«SCRAM-SHA-256$4096:{b:24}${b:44}:{b:44}»",
        ],
        [
            "The price is $1 or $5 per seat; see $PATH and $HOME.",
            "$2b$ is the bcrypt prefix",
            "{SHA} is a scheme name",
        ],
    ),
    "framework-password-hash": (
        [
            "«pbkdf2_sha256$600000${A:22}${b:43}=»",
            '"password": "«argon2$argon2id$v=19$m=102400,t=2,p=8${A:22}${b:43}»"',
            "«bcrypt_sha256$$2b$12${c:53}»",
            "«pbkdf2:sha256:600000${A:16}${h:64}»",
            "«scrypt:32768:8:1${A:16}${h:128}»",
        ],
        [
            "PASSWORD_HASHERS = ['django.contrib.auth.hashers.PBKDF2PasswordHasher']",
            "pbkdf2_sha256 is the default",
        ],
    ),
    "ntlm-hash": (
        [
            "Administrator:500:«aad3b435b51404eeaad3b435b51404ee:{h:32}»:::",
            "svc_sql::CORP:«{h:16}:{h:32}:0101000000000000{h:144}»",
            "[SMB] NTLMv2-SSP Hash     : svc_sql::CORP:«{h:16}:{h:32}:{h:160}»",
            "bob:1104:«aad3b435b51404eeaad3b435b51404ee:{h:32}»:::",
        ],
        ["std::vector<int>::iterator it;", "a ::: b"],
    ),
    "cli-password": (
        [
            "psexec \\\\host -u admin -p «{A:14}» cmd",
            "sshpass -p '«{A:14}»' ssh deploy@web01",
            'sqlcmd -S db01 -U sa -P «{A:14}» -Q "select 1"',
            "ldapsearch -x -D cn=admin,dc=corp -w «{A:14}» -b dc=corp",
            "redis-cli -h cache -a «{A:20}» ping",
            "docker login -u ci -p «{A:20}» registry.example.org",
            "schtasks /create /tn backup /tr b.cmd /ru CORP\\svc /RP «{A:14}»",
            "net use Z: \\\\fileserver\\share «{A:14}» /user:CORP\\bob",
            "net user svc_backup «{A:14}» /add",
            "cmdkey /generic:TERMSRV/host /user:bob /pass:«{A:14}»",
            "xfreerdp /v:10.0.0.5 /u:admin /p:«{A:14}»",
            "keytool -importkeystore -srckeystore a.p12 -srcstorepass «{A:14}»",
            "openssl pkcs12 -export -in c.pem -passout pass:«{A:14}» -out c.p12",
            "smbclient //fs/share -U bob%«{A:14}»",
            "mongosh --host db -u admin -p «{A:14}»",
        ],
        [
            'sshpass -p "$SSHPASS" ssh deploy@web01',
            "docker login -u ci --password-stdin registry.example.org",
            "net user svc_backup /delete",
            "openssl pkcs12 -export -passout env:P12_PASSWORD -out c.p12",
            "mysql -u root -p app",
        ],
    ),
    "cli-user-password-at-host": (
        [
            "sqlplus scott/«{A:12}»@orcl",
            "expdp system/«{A:12}»@prod schemas=app",
            "python3 secretsdump.py corp.local/admin:«{A:12}»@10.0.0.5",
            "GetUserSPNs.py -request CORP/svc:«{A:12}»@dc01",
        ],
        ["sqlplus / as sysdba", "sqlplus scott@orcl"],
    ),
    "powershell-securestring": (
        [
            '$pw = ConvertTo-SecureString -String "«{A:14}»" -AsPlainText -Force',
            "$p = ConvertTo-SecureString '«{A:14}»' -AsPlainText -Force",
        ],
        [
            "$pw = ConvertTo-SecureString -String $env:PW -AsPlainText -Force",
            "$pw = Read-Host -AsSecureString",
        ],
    ),
    "password-piped-to-command": (
        [
            "echo '«{A:14}»' | sudo -S apt-get update",
            "echo «{A:20}» | docker login -u ci --password-stdin",
            "echo 'deploy:«{A:14}»' | chpasswd",
        ],
        ['echo "$PASSWORD" | docker login -u ci --password-stdin', "echo done | tee log"],
    ),
    "curl-option-password": (
        [
            'curl_easy_setopt(curl, CURLOPT_PASSWORD, "«{A:14}»");',
            "curl_setopt($ch, CURLOPT_USERPWD, '«api:{A:20}»');",
            'c.setopt(pycurl.USERPWD, "«bob:{A:16}»")',
        ],
        [
            "curl_easy_setopt(curl, CURLOPT_PASSWORD, password);",
            "curl_setopt($ch, CURLOPT_USERPWD, $creds);",
        ],
    ),
    "jwk-private-key": (
        [
            '{{"kty":"EC","crv":"P-256","x":"{u:43}","y":"{u:43}","d":"«{u:43}»"}}'.replace(
                "{{", "{"
            ).replace("}}", "}"),
            '{"kty": "oct", "k": "«{u:43}»", "alg": "HS256"}',
            '  "dq": "«{u:86}»",',
        ],
        ['{"kty":"EC","crv":"P-256","x":"{u:43}","y":"{u:43}"}', '{"d": "2024-01-01T00:00:00Z"}'],
    ),
    "appsetting-secret": (
        [
            '<add key="SmtpPassword" value="«{A:8} {A:6}!»" />',
            '<add key="DbConnectionString" value="«Server=db;Uid=app;Pwd={A:12}»" />',
        ],
        ['<add key="SmtpHost" value="smtp.example.org" />', '<add key="SmtpPassword" value="" />'],
    ),
    "wireguard-private-key": (
        ["[Interface]\nAddress = 10.0.0.2/32\nPrivateKey = «{b:42}A=»"],
        ["[Peer]\nPublicKey = {b:42}A=", "PrivateKey = <your private key>"],
    ),
    "minisign-secret-key": (
        ["untrusted comment: minisign encrypted secret key\n«RWRTY0Iy{b:150}=»"],
        [
            "untrusted comment: minisign public key 8A1E\nRWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3"
        ],
    ),
    "url-query-credential": (
        [
            "https://api.example.org/v1/items?access_token=«{u:32}»&limit=10",
            "GET /export?format=csv&api_key=«{A:32}» HTTP/1.1",
        ],
        [
            "https://docs.example.org/search?q=key1&page=2",
            "?api_key=YOUR_API_KEY",
            "?page=2&sort=name",
        ],
    ),
    "kubernetes-secret-data": (
        [
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n«  username: {b:12}\n  password: {b:24}==\n»",
            "apiVersion: v1\nkind: Secret\nstringData:\n«  DATABASE_URL: postgres://app:{A:16}@db/app\n»",
        ],
        [
            "kind: Secret\nmetadata:\n  name: db\ntype: Opaque",
            "kind: ConfigMap\ndata:\n  level: debug\n",
        ],
    ),
    "kubernetes-secret-data-first": (
        ["apiVersion: v1\ndata:\n«  token: {b:40}\n»kind: Secret\nmetadata:\n  name: api"],
        ["data:\n  level: debug\nkind: ConfigMap"],
    ),
    "docker-config-auth": (
        [
            '{{"auths": {{"registry.example.org": {{"auth": "«{b:40}»"}}}}}}'.replace(
                "{{", "{"
            ).replace("}}", "}"),
            '"identitytoken": "«{u:60}»"',
        ],
        ['{"auths": {"registry.example.org": {}}, "credsStore": "desktop"}', '"auth": "oauth2"'],
    ),
    "ifttt-webhook": (
        ["https://maker.ifttt.com/trigger/deploy/with/key/«{u:22}»"],
        ["https://maker.ifttt.com/trigger/deploy/with/key/{your_key}"],
    ),
    "mattermost-webhook": (
        ["https://chat.mattermost.example.org/hooks/«{a:26}»"],
        ["https://docs.mattermost.com/hooks/overview"],
    ),
    "github-token-checksummed": (
        ["GITHUB_TOKEN_«ghp_{gh}»", "xoxo«gho_{gh}»"],
        ["GITHUB_TOKEN_ghp_{A:36}", "xghp_{A:30}"],
    ),
    "npm-token-checksummed": (["npmrc_authToken_«npm_{gh}»"], ["token_npm_{A:36}"]),
    "pypi-token-checksummed": (
        ["TWINE_PASSWORD=«pypi-{macaroon}»"],
        ["pypi-AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],
    ),
    # ---- end of credentials in commands and structures (round 2)
    "generic-secret": (
        [
            'password = "«Xk9#mP2vL8qZ»"',
            "DB_PASSWORD=«Pw{A:12}»",
            "client_secret: «{A:24}»",
            '"apiKey": "«{A:32}»",',
            "api_key = '«{A:32}»'",
            'const authToken = "«{A:28}»";',
            'token := "«{A:30}»"',
            'private static final String SECRET = "«{A:24}»";'.replace("SECRET", "CLIENT_SECRET"),
            'config.api_key = "«{A:32}»"',
            ':secret_key => "«{A:30}»"',
            "export SERVICE_TOKEN=«{A:30}»",
            'access_key = "«{A:20}»"',
            "db.password=«{A:14}9»",
            'settings = {{"auth_token": "«{A:30}»"}}'.replace("{{", "{").replace("}}", "}"),
            'Password: "«{A:16}»",',
            "secret = «{A:24}»",
            'credentials = "«{A:26}»"',
        ],
        [
            'api_key = os.environ["OPENAI_API_KEY"]',
            "password: ${DB_PASSWORD}",
            "token = get_token_from_keyring(service)",
            'password = "<your-password>"',
            "api_key: xxxxxxxxxxxxxxxx",
            "secret: changeme",
            'token = "********"',
            "key = settings.SECRET_KEY",
            "password = None",
            "max_tokens = 4096",
            "token_count: 123456789",
            "public_key = ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI",
            "auth_method: oauth2_client_credentials",
            "API_KEY=$API_KEY",
            'password = "%(db_password)s"',
            "key_id: ABCDEF123456",
            "token: {{ .Values.token }}",
            "secret: !vault |",
            "key: value",
            "apiKey: process.env.API_KEY,",
            "password = 'password123'",
            'token = "your_token_here"',
            'auth: "op://vault/item/password"',
        ],
    ),
    "generic-password": (
        [
            'password = "«cackle!»"',
            "DB_PASS=«hunter2»",
            '<add name="db" pwd="«Tr0ub4»" />',
            "mysql_password: «s3cr3t!»",
        ],
        [
            'password = "password"',
            "password: ${PASSWORD}",
            "password = getpass()",
            "pwd = input()",
            "password = self.password",
            "password: letmein",
            "pass = 123456",
            'password = ""',
            "passing = yes-sir",
        ],
    ),
    "generic-secret-quoted": (
        [
            'password = "«m{{h}o)p${e]nob(ody[finds>-_$#thisone}»"',
            'api_key: "«Ab(12)[cd]{ef}{A:12}»"',
        ],
        [
            'token = f"{token}"',
            'error_token = "Token expired, please login again"',
            'url = "https://${HOST}/x"',
        ],
    ),
    "generic-secret-single-quoted": (
        ["client_secret = '«x(9){A:10}[z]»'", "$dbPassword = '«P@ss[w0rd]{A:6}»';"],
        [
            "secret_key = '{{ vault_secret }}'",
            "api_key = '<your key>'",
            "password = '$(cat /run/pw)'",
        ],
    ),
    "generic-yaml-block": (
        ["service:\n  api_token: |\n    «{A:32}»\n", "deploy_key: >-\n  «{A:40}»"],
        ["description: |\n  The token is rotated weekly.", "password: |\n  ${DB_PASSWORD}"],
    ),
    "generic-xml-element": (
        ["<password>«Xk9#mP2vL8qZ»</password>", "<ApiKey>«{A:32}»</ApiKey>"],
        ["<password></password>", "<password>${DB_PASSWORD}</password>"],
    ),
    "generic-cli-secret": (
        ["./deploy --password «Xk9mP2vL8qZ7» --host db", "terraform apply -var --token=«{A:30}»"],
        ["./deploy --password-file /run/secrets/db", "--token $TOKEN"],
    ),
    "generic-name-value-pair": (
        [
            "env:\n- name: API_TOKEN\n  value: «{A:30}»",
            '{{"name": "DB_PASSWORD", "value": "«{A:20}»"}}'.replace("{{", "{").replace("}}", "}"),
            '<add key="ApiKey" value="«{A:32}»" />',
        ],
        [
            "- name: API_TOKEN\n  valueFrom:\n    secretKeyRef:\n      name: app",
            '{"name": "DB_PASSWORD", "value": "${DB_PASSWORD}"}',
        ],
    ),
}

# Ordinary text: none of it may change.
ORDINARY = [
    "The retry loop in payments/retry.py backs off three times; the token budget is fine.",
    "See https://github.com/acme/payments/pull/42 and commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904.",
    "Request id 550e8400-e29b-41d4-a716-446655440000 failed at 2026-11-02T03:00:00Z.",
    "sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "md5 d41d8cd98f00b204e9800998ecf8427e, sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "![chart](data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==)",
    "https://docs.example.com/guide?page=2&lang=en#keys",
    "def get_api_key(self) -> str:\n    return self._keyring.lookup('api')",
    "for key, value in sorted(mapping.items()):\n    print(key, value)",
    "The password reset email expires after 24 hours; tokens are rotated weekly.",
    "integrity: sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+5FYSYV2bWRG6DrNbB5jyUXl3w7C4oSgmTf1bg==",
    "version: 1.2.3, python_requires >= 3.11, port 5432",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG5vdCBhIHJlYWwga2V5IGp1c3QgdGV4dA== ops@acme",
    "The primary key is (tenant_id, created_at); the foreign key points at users.",
    "monkey: banana, turkey: sandwich, hockey: puck",
    "git@github.com:acme/payments.git",
    "Bypass the cache with --no-cache; compass points north.",
    "ask the task owner; risk-based review; desk-check it",
]


def sample(rule: str, rng: random.Random, number: int = 0) -> tuple[str, list[str]]:
    """One of a rule's samples, filled: (text, the secrets in it)."""
    templates = CASES[rule][0]
    return fill(templates[number % len(templates)], rng)


def near_misses() -> list[str]:
    """Every rule's near misses, filled the same way each time."""
    return [
        fill(template, random.Random(f"{rule}:{n}"))[0]
        for rule, (_, misses) in sorted(CASES.items())
        for n, template in enumerate(misses)
    ]


# Text no rule may change: ordinary text and every near miss.
NOT_SECRETS = ORDINARY + near_misses()
