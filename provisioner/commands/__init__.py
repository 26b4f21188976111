"""One module per CLI command; each exposes ``command`` (a click command)."""

#: ``--secrets-dir`` (validate, plan, apply, verify): where ``fromFile`` may read besides the manifests.
SECRETS_DIR_HELP = (
    "Directory {fromFile: …} secrets may also be read from (besides the manifest directories); repeatable."
)
