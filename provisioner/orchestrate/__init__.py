"""Orchestration: what one CLI run (or one library call through :mod:`provisioner.api`) does, step by step.

:mod:`provisioner.api` is the public façade; it hands each call to a module here with typed options
(:mod:`.options`): :mod:`.loading` (manifests, the dotenv file, the per-process load memo),
:mod:`.connect` (opening the tenant), :mod:`.planning` (snapshot, secret status, plan; destroy plans),
:mod:`.applying` (features, secrets, confirmation, execution with a journal) and :mod:`.verifying`
(the OAuth flow checks and the access map). The work itself is done by ``kinds/``, ``plan/``, ``apply/``
and ``verify/``; these modules only sequence it.
"""
