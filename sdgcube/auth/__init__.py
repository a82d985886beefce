"""Who calls the server: identities from API keys, OpenID Connect tokens and browser sessions; the
policy that says what each role may read, run and administer; quotas, rate limits and the audit log.

Below the app and the processes, above the index: the stores keep their tables in the index's
PostgreSQL, so every web worker sees one set of keys, sessions and counters.
"""
