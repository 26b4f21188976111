"""The emulated OAuth2 runtime: realm token endpoint, tokeninfo, introspect, JWKS and discovery.

``OAuthService`` (in :mod:`.service`) is the entry point; the HTTP layer routes the realm OAuth
endpoints to it. ``keys`` holds the RSA JWK helpers shared with the admin service-account auth.
"""
