"""Our own secrets corpus, written from each provider's documented token format.

Every rule has samples (templates, realistic context included) and near misses. In a template
``«...»`` marks the secret, and ``{kind:n}`` is filled with n random characters of a kind (none
is a real credential):

    A  letters and digits      a  lower-case letters and digits   U  upper-case and digits
    h  lower-case hex          H  upper-case hex                  d  digits
    l  lower-case letters      L  letters                         u  URL-safe base64 (A, _ -)
    b  base64 (A + /)          z  base32 (a-z 2-7)                B  bech32, upper case
    c  crypt (A . /)           {uuid}  a random UUID
"""

from __future__ import annotations

import random
import re
import string
import uuid

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
_FIELD = re.compile(r"\{([AaUhHdlLubzBc]):(\d+)\}|\{uuid\}")


def fill(template: str, rng: random.Random) -> tuple[str, list[str]]:
    """The text a template makes, and the secrets in it (the «» parts, filled)."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "{uuid}":
            return str(uuid.UUID(int=rng.getrandbits(128), version=4))
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
    "sourcegraph-token": (["«sgp_{h:16}_{h:40}»", "«sgp_{h:40}»"], ["sgp_{h:5}"]),
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
    "new-relic-user-api-key": (["«NRAK-{U:27}»"], ["NRAK-{U:5}"]),
    "new-relic-insert-key": (["«NRII-{u:32}»"], ["NRII-short"]),
    "new-relic-license-key": (["NEW_RELIC_LICENSE_KEY=«{h:36}NRAL»"], ["NRAL is the suffix"]),
    "new-relic-browser-key": (["«NRJS-{h:19}»"], ["NRJS-{h:4}"]),
    "sentry-auth-token": (
        ["SENTRY_AUTH_TOKEN=«sntrys_eyJ{b:100}»", "«sntryu_{h:64}»"],
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
        ["«xoxb-{d:12}-{d:13}-{A:24}»", "«xoxp-{d:12}-{d:12}-{d:13}-{h:32}»"],
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
    "atlassian-api-token": (["«ATATT3xFfGF0{u:180}»"], ["ATATT3x"]),
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
    "vault-token": (["VAULT_TOKEN=«hvs.{u:90}»", "«hvb.{u:120}»"], ["hvs.short"]),
    "vault-token-legacy": (["VAULT_TOKEN=«s.{A:24}»"], ["VAULT_TOKEN=${VAULT}"]),
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
    "posthog-personal-api-key": (["«phx_{A:43}»"], ["phx_{A:8}"]),
    "klaviyo-private-key": (["KLAVIYO_PRIVATE_KEY=«pk_{h:34}»"], ["pk_{h:8}"]),
    "onesignal-api-key": (["«os_v2_app_{a:56}»"], ["os_v2_app_x"]),
    "azure-app-configuration-secret": (
        ["Endpoint=https://acme.azconfig.io;Id=ab12-cd-s0:{A:20};Secret=«{b:43}=»"],
        ["Endpoint=https://acme.azconfig.io"],
    ),
    "authress-key": (["«sc_{a:12}.{a:5}.acc_{a:20}.{u:60}»"], ["sc_x.y"]),
    "jenkins-api-token": (["JENKINS_API_TOKEN=«11{h:32}»"], ["JENKINS_API_TOKEN=${JENKINS}"]),
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
